package processor

import (
	"crypto/md5"
	"errors"
	"reflect"
	"testing"

	"github.com/awslabs/kinesis-aggregation/go/v2/records"
	"github.com/golang/protobuf/proto"
)

// kplAggregate builds a KPL aggregated record the way the Kinesis Producer Library does
// (magic, protobuf AggregatedRecord with a partition key table, MD5 of the protobuf), using
// the message types of github.com/awslabs/kinesis-aggregation (the format's reference
// implementation). Keys repeat through the key table, as the KPL dedupes them.
func kplAggregate(t testing.TB, keys []string, datas [][]byte) []byte {
	t.Helper()
	agg := &records.AggregatedRecord{}
	index := map[string]uint64{}
	for i, data := range datas {
		k := keys[i]
		idx, ok := index[k]
		if !ok {
			idx = uint64(len(agg.PartitionKeyTable))
			index[k] = idx
			agg.PartitionKeyTable = append(agg.PartitionKeyTable, k)
		}
		agg.Records = append(agg.Records, &records.Record{PartitionKeyIndex: proto.Uint64(idx), Data: data})
	}
	body, err := proto.Marshal(agg)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	out := append(append(append([]byte{}, kplMagic...), body...), sum[:]...)
	return out
}

// corrupt builds an aggregate-looking record with a valid digest over body.
func withDigest(body []byte) []byte {
	sum := md5.Sum(body)
	return append(append(append([]byte{}, kplMagic...), body...), sum[:]...)
}

func TestDeaggregate(t *testing.T) {
	agg := kplAggregate(t, []string{"k1", "k2", "k1"}, [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`)})
	got, err := deaggregate(agg)
	if err != nil {
		t.Fatal(err)
	}
	want := []userRecord{{[]byte(`{"a":1}`), "k1"}, {[]byte(`{"a":2}`), "k2"}, {[]byte(`{"a":3}`), "k1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}

	badIndex, _ := proto.Marshal(&records.AggregatedRecord{
		PartitionKeyTable: []string{"only"},
		Records:           []*records.Record{{PartitionKeyIndex: proto.Uint64(5), Data: []byte("x")}},
	})
	empty, _ := proto.Marshal(&records.AggregatedRecord{PartitionKeyTable: []string{"k"}})
	tampered := append([]byte{}, agg...)
	tampered[len(kplMagic)+2] ^= 1
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain JSON", []byte(`{"a":1}`)},
		{"magic only", kplMagic},
		{"digest mismatch", tampered},
		{"valid digest, garbage protobuf", withDigest([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})},
		{"partition key index out of range", withDigest(badIndex)},
		{"no records", withDigest(empty)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := deaggregate(tc.data); !errors.Is(err, errNotAggregate) {
				t.Errorf("err = %v, want errNotAggregate", err)
			}
		})
	}
}
