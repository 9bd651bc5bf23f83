import Foundation
import PipewatchInputs
import PipewatchJSON
import PipewatchRules

/// A chunk on its way through the worker threads: its buffer and records, the decoder its events are decoded into
/// and the matches a worker found. A job belongs to one thread at a time (reader → worker → the calling thread →
/// free again), handed over under the workers' lock.
final class ChunkJob {
    var buffer: ChunkBuffer
    var input = ""
    var records: [FramedRecord] = []
    var framing: Framing?
    /// Bytes read from the file when the chunk was framed (for the progress line).
    var storedBytes: Int64 = 0
    let decoder = EventDecoder()
    let matches = ChunkMatches()

    init(bufferSize: Int) { buffer = ChunkBuffer(capacity: bufferSize) }

    var chunk: RecordChunk { RecordChunk(input: input, bytes: buffer.bytes, records: records, framing: framing) }
}

/// What the reader thread produces, numbered in input order.
enum ChunkWorkItem {
    case chunk(ChunkJob)
    /// An input read to its end (or to an error).
    case inputEnd(InputSummary)
    case end
}

/// Runs framing on one reader thread and parse, normalize and rule matching on `threads` worker threads, and gives
/// the calling thread the chunks strictly in input order (`next()`), so whatever it does with them (dead letters,
/// detector stage, outputs) happens as with one thread.
///
/// Memory: `jobs` chunks at most are read and not yet given back (`release`), each holding a read buffer (the
/// reader's size, 4 MiB, or as large as the largest record needed) and a decoder (tape, text arena and events of one
/// chunk); the reader reads into one more buffer.
///
/// `@unchecked Sendable`: the reader and worker threads share this object. Its mutable state (the queues, the
/// finished items, the flags) is touched only under `lock`; a job and the reader are touched by one thread at a time,
/// and change hands only through those queues, under the lock.
final class ChunkWorkers: @unchecked Sendable {
    private let lock = NSCondition()
    private var free: [ChunkJob] = []
    private var created = 0
    private let jobs: Int
    private let bufferSize: Int
    /// Chunks waiting for a worker, with their sequence numbers.
    private var queue: [(job: ChunkJob, number: Int)] = []
    private var queueHead = 0
    /// Finished items by sequence number, until the calling thread takes them.
    private var finished: [Int: ChunkWorkItem] = [:]
    private var sequence = 0
    private var nextToTake = 0
    private var readerDone = false
    private var cancelled = false
    /// Worker threads not finished yet.
    private var running = 0

    private let reader: RecordReader
    private let files: [String]
    private let plan: MatchPlan?

    struct Cancelled: Error {}

    /// Starts the threads. `reader` belongs to the reader thread from now on.
    init(reader: RecordReader, files: [String], threads: Int, plan: MatchPlan?, jobs: Int) {
        self.reader = reader
        self.files = files
        self.plan = plan
        self.jobs = max(jobs, 1)
        bufferSize = reader.capacity
        Thread { [self] in readAll() }.start()
        for _ in 0..<max(threads, 1) { startWorker() }
    }

    private func startWorker() {
        lock.withLock { running += 1 }
        let thread = Thread { [self] in
            work()
            lock.withLock {
                running -= 1
                lock.broadcast()
            }
        }
        thread.start()
    }

    // MARK: The reader thread

    private func readAll() {
        var pending: ChunkJob?
        do {
            for file in files {
                let summary = try reader.read(file, nextBuffer: {
                    let job = try takeFreeJob()
                    pending = job
                    return job.buffer
                }, handOff: { chunk, buffer, storedBytes in
                    let job = pending!
                    pending = nil
                    job.buffer = buffer
                    job.input = chunk.input
                    job.records = chunk.records
                    job.framing = chunk.framing
                    job.storedBytes = storedBytes
                    enqueue(job)
                })
                post(.inputEnd(summary))
            }
            post(.end)
        } catch {
            // Cancelled: the calling thread stopped taking chunks.
        }
        lock.withLock {
            readerDone = true
            lock.broadcast()
        }
    }

    /// A free job whose buffer the reader reads on in (its previous buffer went out with the chunk handed off).
    private func takeFreeJob() throws -> ChunkJob {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if cancelled { throw Cancelled() }
            if let job = free.popLast() { return job }
            if created < jobs {
                created += 1
                return ChunkJob(bufferSize: bufferSize)
            }
            lock.wait()
        }
    }

    private func enqueue(_ job: ChunkJob) {
        lock.withLock {
            queue.append((job, sequence))
            sequence += 1
            lock.broadcast()
        }
    }

    private func post(_ item: ChunkWorkItem) {
        lock.withLock {
            finished[sequence] = item
            sequence += 1
            lock.broadcast()
        }
    }

    // MARK: The worker threads

    private func work() {
        let evaluator = plan.map { $0.engine.makeEvaluator() }
        while let (job, number) = takeWork() {
            job.decoder.decode(job.chunk)
            if let plan, let evaluator { job.matches.match(job.decoder, plan: plan, evaluator: evaluator) }
            lock.withLock {
                finished[number] = .chunk(job)
                lock.broadcast()
            }
        }
    }

    private func takeWork() -> (ChunkJob, Int)? {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if cancelled { return nil }
            if queueHead < queue.count {
                let item = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueHead = 0
                }
                return item
            }
            if readerDone { return nil }
            lock.wait()
        }
    }

    // MARK: The calling thread

    /// The next item in input order (waits for it).
    func next() -> ChunkWorkItem {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let item = finished.removeValue(forKey: nextToTake) {
                nextToTake += 1
                return item
            }
            lock.wait()
        }
    }

    /// Gives a chunk's job back once its events and matches are no longer needed.
    func release(_ job: ChunkJob) {
        lock.withLock {
            free.append(job)
            lock.broadcast()
        }
    }

    /// Stops the threads (after `.end`, or early) and waits for the workers. The reader thread ends at its next chunk
    /// (not waited for: stdin may not send one for a long time); it touches nothing the caller still uses.
    func stop() {
        lock.lock()
        cancelled = true
        lock.broadcast()
        while running > 0 { lock.wait() }
        lock.unlock()
    }
}
