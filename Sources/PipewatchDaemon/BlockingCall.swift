import Foundation

/// Runs async work to its end from a synchronous thread (the pipeline thread is not a task), on threads that do not
/// depend on the cooperative pool having a free slot.
final class BlockingOutcome<T>: @unchecked Sendable {
    var value: Result<T, Error>?
}

func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = BlockingOutcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task(executorPreference: DedicatedExecutor.shared) {
        do { outcome.value = .success(try await body()) } catch { outcome.value = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome.value!.get()
}

func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task(executorPreference: DedicatedExecutor.shared) {
        await body()
        done.signal()
    }
    done.wait()
}
