import PipewatchKafka

extension Daemon {
    /// What the daemon did so far; kept by the pipeline thread, published after each batch.
    public struct Statistics: Sendable {
        public var records = 0
        public var events = 0
        public var badRecords = 0
        public var alerts = 0
        public var batches = 0
        public var ruleReloads = 0
        public var refusedReloads = 0
        /// Times the Kafka input paused because an output's queue was full.
        public var pauses = 0
        public var rules = 0
        /// The offsets the group coordinator confirmed committed (the next offset to read, per partition).
        public var committed: [KafkaTopicPartition: Int64] = [:]
        public var assignment: Set<KafkaTopicPartition> = []
        /// See `KafkaConsumer.redeliveryWindow`: the bound on records a rebalance may make another member re-read.
        public var redeliveryWindow: Int64 = 0
        /// Durable snapshots of the detector state written (`state:`).
        public var stateSnapshots = 0
        /// Kafka records read again that the detector state already held: run through the stand-alone rules only.
        public var recordsAlreadyInState = 0
        /// Records the detectors got behind the release (or without an event time): reported, not processed by them.
        public var lateRecords = 0
        /// Scaled out: matches and time marks produced to the repartition topic, the repartition partitions whose
        /// detectors this instance runs, changelog snapshots written, and repartition records refused (damaged, or
        /// written by an instance with other rules; dead-lettered).
        public var repartitioned = 0
        public var statefulAssignment: Set<KafkaTopicPartition> = []
        public var changelogSnapshots = 0
        public var refusedRepartitionRecords = 0
    }
}
