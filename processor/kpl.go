package processor

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"

	"github.com/awslabs/kinesis-aggregation/go/v2/records"
	"github.com/golang/protobuf/proto"
)

// KPL aggregated record format (https://github.com/awslabs/amazon-kinesis-producer,
// aggregation-format.md): the 4-byte magic, a protobuf AggregatedRecord, and the MD5 of
// that protobuf.
var kplMagic = []byte{0xF3, 0x89, 0x9A, 0xC2}

const kplDigestLen = md5.Size

// isKPLAggregate reports whether data starts like a KPL aggregate (magic and room for a
// digest). It does not validate the rest; deaggregate does.
func isKPLAggregate(data []byte) bool {
	return len(data) > len(kplMagic)+kplDigestLen && bytes.Equal(data[:len(kplMagic)], kplMagic)
}

// errNotAggregate means data has the magic but is not a valid aggregate (digest mismatch,
// bad protobuf, no records, partition key index out of range). Such a record is passed on whole, as a
// plain record: it is quarantined as undecodable, never dropped.
var errNotAggregate = errors.New("not a valid KPL aggregate")

// userRecord is one record carried inside an aggregate.
type userRecord struct {
	data         []byte
	partitionKey string
}

// deaggregate returns the user records of a KPL aggregate in order, or errNotAggregate.
func deaggregate(data []byte) ([]userRecord, error) {
	if !isKPLAggregate(data) {
		return nil, errNotAggregate
	}
	body := data[len(kplMagic) : len(data)-kplDigestLen]
	if sum := md5.Sum(body); !bytes.Equal(sum[:], data[len(data)-kplDigestLen:]) {
		return nil, fmt.Errorf("%w: digest mismatch", errNotAggregate)
	}
	var agg records.AggregatedRecord
	if err := proto.Unmarshal(body, &agg); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotAggregate, err)
	}
	if len(agg.Records) == 0 {
		return nil, fmt.Errorf("%w: no records", errNotAggregate)
	}
	out := make([]userRecord, len(agg.Records))
	for i, r := range agg.Records {
		idx := r.GetPartitionKeyIndex()
		if r.PartitionKeyIndex == nil || idx >= uint64(len(agg.PartitionKeyTable)) {
			return nil, fmt.Errorf("%w: record %d: partition key index %d of %d", errNotAggregate, i, idx, len(agg.PartitionKeyTable))
		}
		out[i] = userRecord{data: r.Data, partitionKey: agg.PartitionKeyTable[idx]}
	}
	return out, nil
}
