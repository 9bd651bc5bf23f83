import PipewatchInputs
import PipewatchKafka
import Testing

@Suite struct OffsetWatermarkTests {
    let p0 = KafkaTopicPartition("audit", 0)
    let p1 = KafkaTopicPartition("audit", 1)

    @Test func nothingIsCommittableUntilTheFirstRecordIsDone() {
        var watermark = OffsetWatermark()
        #expect(watermark.committable().isEmpty)
        for offset in Int64(0)..<5 { watermark.markInFlight(p0, offset: offset) }
        #expect(watermark.committable().isEmpty)
        #expect(watermark.inFlight == 5)
        // Later records done first: the first one still holds the partition back.
        for offset in Int64(1)..<5 {
            let marked = watermark.markDone(p0, offset: offset)
            #expect(marked)
        }
        #expect(watermark.committable().isEmpty)
        #expect(watermark.inFlight == 1)
        let marked = watermark.markDone(p0, offset: 0)
        #expect(marked)
        #expect(watermark.committable() == [p0: 5])
        #expect(watermark.inFlight == 0)
    }

    @Test func aSlowRecordHoldsItsPartitionOnly() {
        var watermark = OffsetWatermark()
        for offset in Int64(10)..<20 {
            watermark.markInFlight(p0, offset: offset)
            watermark.markInFlight(p1, offset: offset + 100)
        }
        for offset in Int64(10)..<20 where offset != 13 { watermark.markDone(p0, offset: offset) }
        for offset in Int64(110)..<120 { watermark.markDone(p1, offset: offset) }
        #expect(watermark.committable() == [p0: 13, p1: 120])
        #expect(watermark.inFlight(p0) == 1)
        #expect(watermark.inFlight(p1) == 0)
        watermark.markDone(p0, offset: 13)
        #expect(watermark.committable() == [p0: 20, p1: 120])
    }

    @Test func theWatermarkNeverSkipsAnUndoneRecordWhateverTheOrder() {
        // Every order of completion of 6 records: after each step the watermark is exactly one past the longest
        // done prefix.
        let offsets: [Int64] = [3, 4, 7, 8, 20, 21]
        var permutation = Array(offsets.indices)
        func check(_ order: [Int]) {
            var watermark = OffsetWatermark()
            for offset in offsets { watermark.markInFlight(p0, offset: offset) }
            var done = Set<Int>()
            for index in order {
                watermark.markDone(p0, offset: offsets[index])
                done.insert(index)
                var prefix = 0
                while prefix < offsets.count && done.contains(prefix) { prefix += 1 }
                #expect(watermark.committable(p0) == (prefix == 0 ? nil : offsets[prefix - 1] + 1))
            }
        }
        // Heap's algorithm.
        func permute(_ k: Int) {
            if k == 1 { check(permutation); return }
            for i in 0..<k {
                permute(k - 1)
                if k % 2 == 0 { permutation.swapAt(i, k - 1) } else { permutation.swapAt(0, k - 1) }
            }
        }
        permute(permutation.count)
    }

    @Test func gapsInOffsetsAreFollowedNotComputed() {
        // A compacted topic: offsets 0, 5, 6, 40, 41, 100.
        var watermark = OffsetWatermark()
        let offsets: [Int64] = [0, 5, 6, 40, 41, 100]
        for offset in offsets { watermark.markInFlight(p0, offset: offset) }
        watermark.markDone(p0, offset: 0)
        watermark.markDone(p0, offset: 5)
        #expect(watermark.committable(p0) == 6)
        // Done out of order past the gap: 41 and 100 wait for 6 and 40.
        watermark.markDone(p0, offset: 41)
        watermark.markDone(p0, offset: 100)
        #expect(watermark.committable(p0) == 6)
        watermark.markDone(p0, offset: 6)
        #expect(watermark.committable(p0) == 7)
        watermark.markDone(p0, offset: 40)
        #expect(watermark.committable(p0) == 101)
        // Offsets that were never polled (the holes) are not tracked.
        let marked = watermark.markDone(p0, offset: 20)
        #expect(!marked)
    }

    @Test func unknownAndRepeatedMarksChangeNothing() {
        var watermark = OffsetWatermark()
        let beforePolling = watermark.markDone(p0, offset: 0)
        watermark.markInFlight(p0, offset: 0)
        watermark.markInFlight(p0, offset: 1)
        let results = [
            watermark.markDone(p0, offset: 1), // in flight: done
            watermark.markDone(p0, offset: 1), // already done
            watermark.markDone(p0, offset: 2), // never polled
            watermark.markDone(p1, offset: 0), // unknown partition
        ]
        #expect(!beforePolling)
        #expect(results == [true, false, false, false])
        #expect(watermark.inFlight == 1)
        #expect(watermark.committable().isEmpty)
    }

    @Test func forgettingAPartitionDropsItsInFlightRecords() {
        var watermark = OffsetWatermark()
        for offset in Int64(0)..<4 {
            watermark.markInFlight(p0, offset: offset)
            watermark.markInFlight(p1, offset: offset)
        }
        watermark.markDone(p0, offset: 0)
        watermark.markDone(p1, offset: 0)
        watermark.forget(p0)
        #expect(watermark.inFlight == 3)
        #expect(watermark.committable() == [p1: 1])
        // A record of the lost partition finishing later does not resurrect it.
        let marked = watermark.markDone(p0, offset: 1)
        #expect(!marked)
        #expect(watermark.committable(p0) == nil)
        // Reassigned later, it starts afresh from whatever offset comes.
        watermark.markInFlight(p0, offset: 2)
        watermark.markDone(p0, offset: 2)
        #expect(watermark.committable(p0) == 3)
        watermark.forgetAll()
        #expect(watermark.inFlight == 0)
        #expect(watermark.committable().isEmpty)
    }

    @Test func goingBackDropsTheRecordsThatComeAgain() {
        var watermark = OffsetWatermark()
        for offset in Int64(0)..<10 { watermark.markInFlight(p0, offset: offset) }
        for offset in Int64(0)..<3 { watermark.markDone(p0, offset: offset) }
        watermark.markDone(p0, offset: 7)
        #expect(watermark.committable(p0) == 3)
        // The consumer seeks back to 5: records 5… are delivered again; 3 and 4 stay in flight.
        watermark.markInFlight(p0, offset: 5)
        #expect(watermark.inFlight == 3)
        watermark.markInFlight(p0, offset: 6)
        watermark.markInFlight(p0, offset: 7)
        for offset: Int64 in [3, 4, 5, 6] { watermark.markDone(p0, offset: offset) }
        // 7 came again and is in flight again, whatever the first copy did.
        #expect(watermark.committable(p0) == 7)
        watermark.markDone(p0, offset: 7)
        #expect(watermark.committable(p0) == 8)
        // A record below the watermark is already done: not tracked again.
        watermark.markInFlight(p0, offset: 1)
        #expect(watermark.inFlight == 0)
        #expect(watermark.committable(p0) == 8)
    }

    @Test func manyRecordsStayCheapAndCompact() {
        var watermark = OffsetWatermark()
        // 200 k records, done in batches lagging the poll by one batch, with one record held throughout.
        let held: Int64 = 1_000
        var next: Int64 = 0
        var previous: [Int64] = []
        for _ in 0..<200 {
            var batch: [Int64] = []
            for _ in 0..<1_000 {
                watermark.markInFlight(p0, offset: next)
                batch.append(next)
                next += 2 // gaps
            }
            for offset in previous where offset != held { watermark.markDone(p0, offset: offset) }
            previous = batch
        }
        // One past the record before the held one (offsets go by twos).
        #expect(watermark.committable(p0) == held - 1)
        #expect(watermark.inFlight == 1_001)
        watermark.markDone(p0, offset: held)
        #expect(watermark.committable(p0) == previous[0] - 1)
        for offset in previous { watermark.markDone(p0, offset: offset) }
        #expect(watermark.committable(p0) == next - 1)
        #expect(watermark.inFlight == 0)
    }
}
