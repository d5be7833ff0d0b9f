package admin

import "errors"

var (
	// ErrNotReady is the state of a Condition that has not been set yet.
	ErrNotReady = errors.New("not ready yet")
	// ErrAlreadyStarted is returned by Start on a Server that was started before.
	ErrAlreadyStarted = errors.New("admin server already started")
)
