package awsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Recorder counts the AWS operations called through clients built with it, by service
// and operation. One call counts once however often the SDK retried it; a call that
// failed counts in Errors as well. It is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls map[opKey]*Call
}

type opKey struct{ service, operation string }

// Call is one operation's tally.
type Call struct {
	// Service is the SDK service id ("Kinesis", "DynamoDB", "S3").
	Service string `json:"service"`
	// Operation is the API operation ("GetRecords", "PutItem", "PutObject").
	Operation string `json:"operation"`
	// Action is the IAM action the operation needs ("kinesis:GetRecords").
	Action string `json:"action"`
	Calls  int64  `json:"calls"`
	Errors int64  `json:"errors"`
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{calls: map[opKey]*Call{}} }

// APIOption installs the recording middleware on a client's stack; add it to
// aws.Config.APIOptions or a client's Options.APIOptions.
func (r *Recorder) APIOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("meshgate.RecordCall",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			out, md, err := next.HandleInitialize(ctx, in)
			r.record(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), err != nil)
			return out, md, err
		}), middleware.Before)
}

func (r *Recorder) record(service, operation string, failed bool) {
	k := opKey{service, operation}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[k]
	if c == nil {
		c = &Call{Service: service, Operation: operation, Action: iamAction(service, operation)}
		r.calls[k] = c
	}
	c.Calls++
	if failed {
		c.Errors++
	}
}

// iamAction maps an SDK service id and operation to the IAM action name.
func iamAction(service, operation string) string {
	prefix := strings.ToLower(strings.ReplaceAll(service, " ", ""))
	return prefix + ":" + operation
}

// Calls returns the tallies sorted by service and operation.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	out := make([]Call, 0, len(r.calls))
	for _, c := range r.calls {
		out = append(out, *c)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Operation < out[j].Operation
	})
	return out
}

// WriteFile writes Calls() as a JSON array to path (replacing it atomically).
func (r *Recorder) WriteFile(path string) error {
	data, err := json.MarshalIndent(r.Calls(), "", "  ")
	if err != nil {
		return fmt.Errorf("encode recorded AWS calls: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write recorded AWS calls: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write recorded AWS calls: %w", err)
	}
	return nil
}
