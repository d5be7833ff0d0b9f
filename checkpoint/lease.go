package checkpoint

import (
	"fmt"
	"sync"
	"time"
)

// Lease is this worker's hold on one shard, from a successful acquisition until it ends:
// released, refused at renewal (another worker took or claimed it), or expired because
// nothing renewed it in time. A Lease never restarts; a later acquisition of the same shard
// is a new Lease.
type Lease struct {
	shardID string

	mu      sync.Mutex
	expires time.Time
	timer   *time.Timer
	err     error
	done    chan struct{}
}

func newLease(shardID string, expires time.Time) *Lease {
	l := &Lease{shardID: shardID, expires: expires, done: make(chan struct{})}
	l.timer = time.AfterFunc(time.Until(expires), l.expire)
	return l
}

// ShardID is the leased shard.
func (l *Lease) ShardID() string { return l.shardID }

// Done is closed when the lease has ended. Work on the shard must stop, and nothing may
// be checkpointed for it after that.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err says why the lease ended (wrapping ErrLeaseLost), or nil while it is held.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Expires is the end of the lease as last written to the table.
func (l *Lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// extend records a successful renewal. It returns false if the lease had already ended.
func (l *Lease) extend(expires time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false
	}
	l.expires = expires
	l.timer.Reset(time.Until(expires))
	return true
}

func (l *Lease) expire() {
	l.mu.Lock()
	exp := l.expires
	l.mu.Unlock()
	if d := time.Until(exp); d > 0 { // renewed while the timer fired
		l.mu.Lock()
		if l.err == nil {
			l.timer.Reset(d)
		}
		l.mu.Unlock()
		return
	}
	l.end(fmt.Errorf("lease on %s expired at %s without renewal: %w", l.shardID, exp.Format(time.RFC3339Nano), ErrLeaseLost))
}

// end closes the lease with err (first call wins) and reports whether this call ended it.
func (l *Lease) end(err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false
	}
	l.err = err
	l.timer.Stop()
	close(l.done)
	return true
}
