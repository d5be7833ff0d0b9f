package checkpoint

import (
	"errors"

	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
)

// Sentinel errors of the checkpoint package; test with errors.Is.
var (
	// ErrLeaseLost means this worker no longer holds the shard's lease: another worker
	// took it, it was released, or it expired without renewal. Checkpoints are refused.
	ErrLeaseLost = errors.New("lease lost")

	// ErrLeaseHeld means another worker holds an unexpired lease on the shard.
	ErrLeaseHeld = errors.New("lease held by another worker")

	// ErrShardClaimed means another worker has a live claim (lease stealing) on the
	// shard: the owner stops renewing and the claimer takes it when it expires.
	ErrShardClaimed = errors.New("shard claimed by another worker")

	// ErrShardFinished means the shard is checkpointed at SHARD_END; nobody needs its lease.
	ErrShardFinished = errors.New("shard finished (SHARD_END)")

	// ErrLeaseChanged means the lease item changed between read and conditional write
	// (another worker acquired, renewed or released it at the same moment).
	ErrLeaseChanged = errors.New("lease changed concurrently")
)

// notAcquired is an expected refusal to acquire a lease. It unwraps to the library's
// ErrLeaseNotAcquired as well, which the KCL's shard loop treats as routine (no error log).
type notAcquired struct {
	reason error  // one of the sentinels above
	msg    string // detail
}

func (e *notAcquired) Error() string { return e.msg + ": " + e.reason.Error() }

func (e *notAcquired) Unwrap() []error { return []error{e.reason, chk.ErrLeaseNotAcquired{}} }
