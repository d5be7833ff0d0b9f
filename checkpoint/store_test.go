package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/meshgate/meshgate/internal/testenv"
)

var tableSeq atomic.Int64

// fixture is a lease table on the emulator and a way to make stores for workers on it.
type fixture struct {
	t     *testing.T
	db    *dynamodb.Client
	table string
}

func newFixture(t *testing.T, db *dynamodb.Client) *fixture {
	f := &fixture{t: t, db: db, table: fmt.Sprintf("leases-%d", tableSeq.Add(1))}
	if err := f.store("setup", time.Second).EnsureTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) store(worker string, lease time.Duration) *Store {
	s, err := New(f.db, Options{Table: f.table, Stream: "s", WorkerID: worker, LeaseDuration: lease, CallTimeout: 5 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func shard(id string) *par.ShardStatus { return &par.ShardStatus{ID: id, Mux: &sync.RWMutex{}} }

func (f *fixture) item(id string) Item {
	f.t.Helper()
	it, _, err := f.store("reader", time.Second).Item(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return it
}

func checkpointAt(s *Store, sh *par.ShardStatus, seq string) error {
	sh.SetCheckpoint(seq)
	return s.CheckpointSequence(sh)
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestStore(t *testing.T) {
	stack := testenv.Start(t)
	db := stack.DynamoDB()

	t.Run("EnsureTable creates an on-demand table once, racing workers included", func(t *testing.T) {
		table := fmt.Sprintf("race-%d", tableSeq.Add(1))
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, _ := New(db, Options{Table: table, WorkerID: fmt.Sprint("w", i)})
				errs[i] = s.Init()
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Table.TableStatus != types.TableStatusActive {
			t.Errorf("status %s", out.Table.TableStatus)
		}
		if out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing mode summary %+v, want PAY_PER_REQUEST", out.Table.BillingModeSummary)
		}
	})

	t.Run("one owner; others refused; only the owner checkpoints", func(t *testing.T) {
		f := newFixture(t, db)
		a, b := f.store("a", 5*time.Second), f.store("b", 5*time.Second)
		sa, sb := shard("shard-1"), shard("shard-1")
		if err := b.FetchCheckpoint(sb); !errors.Is(err, chk.ErrSequenceIDNotFound) {
			t.Fatalf("fetch of a missing row: %v", err)
		}
		if err := a.GetLease(sa, "a"); err != nil {
			t.Fatal(err)
		}
		err := b.GetLease(sb, "b")
		if !errors.Is(err, ErrLeaseHeld) || !errors.As(err, &chk.ErrLeaseNotAcquired{}) {
			t.Fatalf("b acquired a held lease or got the wrong error: %v", err)
		}
		if err := checkpointAt(a, sa, "100"); err != nil {
			t.Fatal(err)
		}
		if err := checkpointAt(b, sb, "999"); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("non-owner checkpoint: %v", err)
		}
		if it := f.item("shard-1"); it.Owner != "a" || it.Checkpoint != "100" || it.LeaseCounter != 1 {
			t.Errorf("row %+v", it)
		}
		if err := b.FetchCheckpoint(sb); err != nil || sb.GetCheckpoint() != "100" || sb.GetLeaseOwner() != "a" {
			t.Errorf("fetch: %v, checkpoint %q owner %q", err, sb.GetCheckpoint(), sb.GetLeaseOwner())
		}
		if err := a.GetLease(sa, "a"); err != nil { // renewal
			t.Fatal(err)
		}
		if it := f.item("shard-1"); it.LeaseCounter != 2 || it.Checkpoint != "100" {
			t.Errorf("after renewal: %+v", it)
		}
	})

	t.Run("racing acquisitions: exactly one wins", func(t *testing.T) {
		f := newFixture(t, db)
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := fmt.Sprint("w", i)
				if err := f.store(w, 5*time.Second).GetLease(shard("shard-r"), w); err == nil {
					wins.Add(1)
				} else if !errors.As(err, &chk.ErrLeaseNotAcquired{}) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d winners", wins.Load())
		}
	})

	t.Run("expired lease: Done closes, another worker takes it, the zombie can neither renew nor checkpoint", func(t *testing.T) {
		f := newFixture(t, db)
		a, b := f.store("a", time.Second), f.store("b", 5*time.Second)
		sa, sb := shard("shard-2"), shard("shard-2")
		if err := a.GetLease(sa, "a"); err != nil {
			t.Fatal(err)
		}
		if err := checkpointAt(a, sa, "10"); err != nil {
			t.Fatal(err)
		}
		la := a.Lease("shard-2")
		select {
		case <-la.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("lease did not end at expiry")
		}
		if !errors.Is(la.Err(), ErrLeaseLost) {
			t.Errorf("lease error %v", la.Err())
		}
		if err := b.FetchCheckpoint(sb); err != nil {
			t.Fatal(err)
		}
		if err := b.GetLease(sb, "b"); err != nil {
			t.Fatalf("b could not take an expired lease: %v", err)
		}
		if err := checkpointAt(a, sa, "20"); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("zombie checkpoint: %v", err)
		}
		if it := f.item("shard-2"); it.Owner != "b" || it.Checkpoint != "10" {
			t.Errorf("row %+v", it)
		}
	})

	t.Run("a worker whose lease was taken behind its back: conditional checkpoint and renewal fail", func(t *testing.T) {
		f := newFixture(t, db)
		a := f.store("a", 30*time.Second)
		sa := shard("shard-3")
		if err := a.GetLease(sa, "a"); err != nil {
			t.Fatal(err)
		}
		// Another worker with a skewed clock took the lease.
		if _, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName:                 &f.table,
			Key:                       map[string]types.AttributeValue{"ShardID": sv("shard-3")},
			UpdateExpression:          aws.String("SET AssignedTo = :b"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":b": sv("b")},
		}); err != nil {
			t.Fatal(err)
		}
		la := a.Lease("shard-3")
		if err := checkpointAt(a, sa, "77"); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("checkpoint after takeover: %v", err)
		}
		if !closed(la.Done()) {
			t.Error("lease still open after a refused checkpoint")
		}
		if it := f.item("shard-3"); it.Checkpoint != "" {
			t.Errorf("checkpoint written: %+v", it)
		}
		// Renewal path (a fresh acquisition makes it held again, then the table changes).
		b := f.store("b", 30*time.Second)
		if err := b.GetLease(shard("shard-3"), "b"); err != nil {
			t.Fatalf("b (the owner in the table, same id restarted) could not acquire: %v", err)
		}
		if err := a.GetLease(sa, "a"); !errors.Is(err, ErrLeaseHeld) {
			t.Fatalf("a re-acquired a lease b holds: %v", err)
		}
	})

	t.Run("renewal never re-acquires a lease another worker took", func(t *testing.T) {
		f := newFixture(t, db)
		a, b := f.store("a", time.Second), f.store("b", 5*time.Second)
		sa := shard("shard-4")
		if err := a.GetLease(sa, "a"); err != nil {
			t.Fatal(err)
		}
		la := a.Lease("shard-4")
		// Keep a's in-memory lease alive artificially (as if its clock ran slow) while
		// the table's lease expires and b takes it.
		la.extend(time.Now().Add(time.Minute))
		time.Sleep(1100 * time.Millisecond)
		if err := b.GetLease(shard("shard-4"), "b"); err != nil {
			t.Fatal(err)
		}
		err := a.GetLease(sa, "a")
		if !errors.Is(err, ErrLeaseLost) || !closed(la.Done()) {
			t.Fatalf("renewal after takeover: %v", err)
		}
		if it := f.item("shard-4"); it.Owner != "b" {
			t.Errorf("owner %q", it.Owner)
		}
	})

	t.Run("release hands over at once", func(t *testing.T) {
		f := newFixture(t, db)
		a, b := f.store("a", 30*time.Second), f.store("b", 30*time.Second)
		if err := a.GetLease(shard("shard-5"), "a"); err != nil {
			t.Fatal(err)
		}
		la := a.Lease("shard-5")
		if err := a.RemoveLeaseOwner("shard-5"); err != nil {
			t.Fatal(err)
		}
		if !closed(la.Done()) || a.Lease("shard-5") != nil {
			t.Error("released lease still held")
		}
		if err := b.GetLease(shard("shard-5"), "b"); err != nil {
			t.Fatalf("b could not take a released lease: %v", err)
		}
		if err := a.RemoveLeaseOwner("shard-5"); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("release by a non-owner: %v", err)
		}
		if it := f.item("shard-5"); it.Owner != "b" {
			t.Errorf("owner %q", it.Owner)
		}
	})

	t.Run("same worker id restarted: its stale row reads as unowned and is re-acquired", func(t *testing.T) {
		f := newFixture(t, db)
		if err := f.store("w", 30*time.Second).GetLease(shard("shard-6"), "w"); err != nil {
			t.Fatal(err)
		}
		restarted := f.store("w", 30*time.Second)
		sh := shard("shard-6")
		if err := restarted.FetchCheckpoint(sh); !errors.Is(err, chk.ErrSequenceIDNotFound) {
			t.Fatal(err)
		}
		if sh.GetLeaseOwner() != "" {
			t.Errorf("stale own row reads as owned by %q: the KCL would skip it forever", sh.GetLeaseOwner())
		}
		if err := restarted.GetLease(sh, "w"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("stealing: claim stops the owner's renewal; only the claimer takes it; a lapsed claim frees it", func(t *testing.T) {
		f := newFixture(t, db)
		a := f.store("a", 30*time.Second)
		bs, err := New(db, Options{Table: f.table, WorkerID: "b", LeaseDuration: 30 * time.Second, ClaimTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c := f.store("c", 30*time.Second)
		for _, id := range []string{"s-1", "s-2"} {
			if err := a.GetLease(shard(id), "a"); err != nil {
				t.Fatal(err)
			}
		}
		// b sees the table and claims s-1.
		view := map[string]*par.ShardStatus{"s-1": shard("s-1"), "s-2": shard("s-2")}
		workers, err := bs.ListActiveWorkers(view)
		if err != nil || len(workers["a"]) != 2 {
			t.Fatalf("workers %v, %v", workers, err)
		}
		if err := bs.ClaimShard(view["s-1"], "b"); err != nil {
			t.Fatal(err)
		}
		if err := bs.ClaimShard(view["s-1"], "b"); !errors.Is(err, ErrLeaseChanged) {
			t.Errorf("second claim: %v", err)
		}
		la := a.Lease("s-1")
		if err := a.GetLease(shard("s-1"), "a"); !errors.Is(err, ErrShardClaimed) || !closed(la.Done()) {
			t.Fatalf("owner renewal under a claim: %v", err)
		}
		if err := a.RemoveLeaseOwner("s-1"); err != nil {
			t.Fatal(err)
		}
		if err := c.GetLease(shard("s-1"), "c"); !errors.Is(err, ErrShardClaimed) {
			t.Fatalf("third worker took a claimed shard: %v", err)
		}
		// b never comes: the claim lapses and c may take it.
		time.Sleep(1100 * time.Millisecond)
		if err := c.GetLease(shard("s-1"), "c"); err != nil {
			t.Fatalf("lapsed claim still blocks: %v", err)
		}
		if it := f.item("s-1"); it.Owner != "c" || it.ClaimRequest != "" {
			t.Errorf("row %+v", it)
		}
		// a still renews s-2 (no claim there).
		if err := a.GetLease(shard("s-2"), "a"); err != nil {
			t.Error(err)
		}
	})

	t.Run("claimer acquires after release; claim removed", func(t *testing.T) {
		f := newFixture(t, db)
		a, b := f.store("a", 30*time.Second), f.store("b", 30*time.Second)
		if err := a.GetLease(shard("s-1"), "a"); err != nil {
			t.Fatal(err)
		}
		view := shard("s-1")
		if err := b.FetchCheckpoint(view); !errors.Is(err, chk.ErrSequenceIDNotFound) {
			t.Fatal(err)
		}
		if err := b.ClaimShard(view, "b"); err != nil {
			t.Fatal(err)
		}
		if err := a.RemoveLeaseOwner("s-1"); err != nil {
			t.Fatal(err)
		}
		if err := b.GetLease(view, "b"); err != nil {
			t.Fatal(err)
		}
		if it := f.item("s-1"); it.Owner != "b" || it.ClaimRequest != "" {
			t.Errorf("row %+v", it)
		}
	})

	t.Run("ListActiveWorkers: unassigned and expired shards block stealing; finished shards ignored", func(t *testing.T) {
		f := newFixture(t, db)
		a := f.store("a", 30*time.Second)
		view := map[string]*par.ShardStatus{"s-1": shard("s-1"), "s-2": shard("s-2"), "s-3": shard("s-3")}
		for _, id := range []string{"s-1", "s-2"} {
			if err := a.GetLease(view[id], "a"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.ListActiveWorkers(view); !errors.Is(err, chk.ErrShardNotAssigned) {
			t.Fatalf("with s-3 unassigned: %v", err)
		}
		if err := a.GetLease(view["s-3"], "a"); err != nil {
			t.Fatal(err)
		}
		if err := checkpointAt(a, view["s-3"], ShardEnd); err != nil {
			t.Fatal(err)
		}
		workers, err := a.ListActiveWorkers(view)
		if err != nil {
			t.Fatal(err)
		}
		if got := workers["a"]; len(workers) != 1 || len(got) != 2 || got[0].ID != "s-1" || got[1].ID != "s-2" {
			t.Errorf("workers %v", workers)
		}
		if err := a.RemoveLeaseOwner("s-3"); err != nil {
			t.Fatal(err)
		}
		if err := f.store("b", time.Second).GetLease(shard("s-3"), "b"); !errors.Is(err, ErrShardFinished) {
			t.Errorf("acquired a finished shard: %v", err)
		}
	})

	t.Run("GetLeaseOwner and RemoveLeaseInfo", func(t *testing.T) {
		f := newFixture(t, db)
		a := f.store("a", 30*time.Second)
		if _, err := a.GetLeaseOwner("s-9"); !errors.Is(err, chk.NoLeaseOwnerErr) {
			t.Errorf("owner of a missing row: %v", err)
		}
		if err := a.GetLease(shard("s-9"), "a"); err != nil {
			t.Fatal(err)
		}
		if o, err := a.GetLeaseOwner("s-9"); o != "a" || err != nil {
			t.Errorf("owner %q %v", o, err)
		}
		l := a.Lease("s-9")
		if err := a.RemoveLeaseInfo("s-9"); err != nil {
			t.Fatal(err)
		}
		if !closed(l.Done()) {
			t.Error("lease of a deleted row still open")
		}
		if _, found, _ := a.Item(context.Background(), "s-9"); found {
			t.Error("row still there")
		}
	})
}
