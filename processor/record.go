package processor

import "time"

// Record is one Kinesis user record as the pipeline sees it (already de-aggregated).
type Record struct {
	Data           []byte
	PartitionKey   string
	SequenceNumber string
	// SubSequence is the position inside a KPL-aggregated record; 0 for plain records.
	SubSequence int64
	// Aggregated is true when the record was carried inside a KPL aggregate.
	Aggregated  bool
	ArrivalTime time.Time
}

// Batch is the records one GetRecords call delivered for one shard, in sequence order.
type Batch struct {
	Stream  string
	ShardID string
	Records []Record
	// MillisBehindLatest as reported by Kinesis; -1 when unknown (emulators may omit it).
	MillisBehindLatest int64
}
