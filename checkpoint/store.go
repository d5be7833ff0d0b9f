package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"

	"github.com/meshgate/meshgate/metrics"
)

// ShardEnd is the checkpoint of a closed shard whose records were all processed.
const ShardEnd = chk.ShardEnd

// Attribute names (see the package doc for the schema).
const (
	attrShard       = "ShardID"
	attrOwner       = "AssignedTo"
	attrTimeout     = "LeaseTimeout"
	attrCounter     = "LeaseCounter"
	attrCheckpoint  = "Checkpoint"
	attrClaim       = "ClaimRequest"
	attrClaimExpiry = "ClaimExpiry"
)

// timeFormat is RFC 3339 with a fixed nine-digit fraction, always UTC: strings in this
// format sort like the instants they name, so DynamoDB conditions can compare them.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// DynamoDBAPI is the part of the DynamoDB client the store uses; *dynamodb.Client
// satisfies it.
type DynamoDBAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Options configure a Store.
type Options struct {
	// Table is the lease table's name; required.
	Table string
	// Stream is the source stream, used as a metrics label.
	Stream string
	// WorkerID is this worker's id in the table; required.
	WorkerID string
	// LeaseDuration is how long an acquisition or renewal holds the lease (the KCL's
	// failover time). Default 10s.
	LeaseDuration time.Duration
	// ClaimTimeout is how long a steal claim stays valid if the claimer does not take
	// the lease. Default 2 × LeaseDuration.
	ClaimTimeout time.Duration
	// CallTimeout bounds each DynamoDB call made for the KCL (whose interface has no
	// context). Default LeaseDuration/2, at most 10s.
	CallTimeout time.Duration
	// Metrics, if not nil, receives leases held and checkpoint results.
	Metrics *metrics.Metrics
	// Logger for lease changes; nil discards.
	Logger *slog.Logger
}

// Store is one stream's lease and checkpoint table. It implements vmware-go-kcl-v2's
// checkpoint.Checkpointer for one worker (Options.WorkerID), and is safe for concurrent
// use by the KCL's shard loop and its per-shard lease renewers.
type Store struct {
	db            DynamoDBAPI
	table         string
	stream        string
	worker        string
	leaseDuration time.Duration
	claimTimeout  time.Duration
	callTimeout   time.Duration
	log           *slog.Logger

	metrics    *metrics.Metrics
	leasesHeld prometheus.Gauge

	mu   sync.Mutex
	held map[string]*Lease
}

var _ chk.Checkpointer = (*Store)(nil)

// New returns a Store for the table in o. It does not touch DynamoDB; Init (or
// EnsureTable) creates the table when missing.
func New(db DynamoDBAPI, o Options) (*Store, error) {
	if o.Table == "" || o.WorkerID == "" {
		return nil, errors.New("checkpoint: table and worker id are required")
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 10 * time.Second
	}
	if o.ClaimTimeout <= 0 {
		o.ClaimTimeout = 2 * o.LeaseDuration
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = min(o.LeaseDuration/2, 10*time.Second)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := o.Metrics
	if m == nil {
		m = metrics.New(prometheus.NewRegistry())
	}
	return &Store{
		db: db, table: o.Table, stream: o.Stream, worker: o.WorkerID,
		leaseDuration: o.LeaseDuration, claimTimeout: o.ClaimTimeout, callTimeout: o.CallTimeout,
		log:        o.Logger.With(slog.String("table", o.Table)),
		metrics:    m,
		leasesHeld: m.LeasesHeld.WithLabelValues(o.Stream, o.WorkerID),
		held:       map[string]*Lease{},
	}, nil
}

// Table is the lease table's name.
func (s *Store) Table() string { return s.table }

// WorkerID is the worker this store acts for.
func (s *Store) WorkerID() string { return s.worker }

func (s *Store) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.callTimeout)
}

// ---- table --------------------------------------------------------------------------

// EnsureTable creates the lease table with on-demand billing when it does not exist and
// waits until it is ACTIVE. Several workers may call it at once: a CreateTable that loses
// the race (ResourceInUseException) just waits for the winner's table.
func (s *Store) EnsureTable(ctx context.Context) error {
	wait := 50 * time.Millisecond
	created := false
	for {
		out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive:
			if created {
				s.log.Info("lease table created")
			}
			return nil
		case err == nil:
			// CREATING or UPDATING: wait below.
		case errors.As(err, &notFound) && !created:
			_, cerr := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            &s.table,
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrShard), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrShard), KeyType: types.KeyTypeHash}},
			})
			var inUse *types.ResourceInUseException
			if cerr != nil && !errors.As(cerr, &inUse) {
				return fmt.Errorf("create lease table %s: %w", s.table, cerr)
			}
			created = cerr == nil
			continue
		case errors.As(err, &notFound):
			// Created a moment ago; DescribeTable may lag behind.
		default:
			return fmt.Errorf("describe lease table %s: %w", s.table, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for lease table %s to become ACTIVE: %w", s.table, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// Init creates the table when missing (Checkpointer interface), waiting at most a minute.
func (s *Store) Init() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.EnsureTable(ctx)
}

// ---- items --------------------------------------------------------------------------

// Item is one shard's row of the lease table.
type Item struct {
	ShardID      string
	Owner        string // "" when nobody holds the lease
	LeaseTimeout time.Time
	LeaseCounter int64
	Checkpoint   string // "" before the first checkpoint; ShardEnd when finished
	ClaimRequest string
	ClaimExpiry  time.Time
}

func parseItem(m map[string]types.AttributeValue) Item {
	str := func(k string) string {
		if v, ok := m[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	tm := func(k string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, str(k))
		return t
	}
	it := Item{
		ShardID: str(attrShard), Owner: str(attrOwner), LeaseTimeout: tm(attrTimeout),
		Checkpoint: str(attrCheckpoint), ClaimRequest: str(attrClaim), ClaimExpiry: tm(attrClaimExpiry),
	}
	if v, ok := m[attrCounter].(*types.AttributeValueMemberN); ok {
		it.LeaseCounter, _ = strconv.ParseInt(v.Value, 10, 64)
	}
	return it
}

// Item reads one shard's row with a consistent read; found is false when it has none.
func (s *Store) Item(ctx context.Context, shardID string) (it Item, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            map[string]types.AttributeValue{attrShard: &types.AttributeValueMemberS{Value: shardID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Item{}, false, fmt.Errorf("read lease of %s from %s: %w", shardID, s.table, err)
	}
	if len(out.Item) == 0 {
		return Item{}, false, nil
	}
	return parseItem(out.Item), true, nil
}

// Items reads every row with consistent reads, sorted by shard id.
func (s *Store) Items(ctx context.Context) ([]Item, error) {
	var items []Item
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return nil, fmt.Errorf("scan lease table %s: %w", s.table, err)
		}
		for _, m := range out.Items {
			items = append(items, parseItem(m))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ShardID < items[j].ShardID })
	return items, nil
}

// ---- leases -------------------------------------------------------------------------

// Lease returns this worker's current lease on shardID, or nil when it holds none.
func (s *Store) Lease(shardID string) *Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[shardID]
}

// Held returns the ids of the shards this worker holds leases on, sorted.
func (s *Store) Held() []string {
	s.mu.Lock()
	ids := make([]string, 0, len(s.held))
	for id := range s.held {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	return ids
}

func (s *Store) setHeld(id string, l *Lease) {
	s.mu.Lock()
	old := s.held[id]
	s.held[id] = l
	n := len(s.held)
	s.mu.Unlock()
	if old != nil && old != l {
		old.end(fmt.Errorf("lease on %s superseded by a new acquisition: %w", id, ErrLeaseLost))
	}
	s.leasesHeld.Set(float64(n))
}

// drop ends l with err and forgets it (if it is still the current lease of its shard).
func (s *Store) drop(l *Lease, err error) {
	if l == nil {
		return
	}
	ended := l.end(err)
	s.mu.Lock()
	if s.held[l.shardID] == l {
		delete(s.held, l.shardID)
	}
	n := len(s.held)
	s.mu.Unlock()
	s.leasesHeld.Set(float64(n))
	if ended {
		s.metrics.ForgetShard(s.stream, l.shardID)
	}
	if ended && !errors.Is(err, errReleased) {
		s.log.Warn("lease lost", slog.String("shard", l.shardID), slog.String("reason", err.Error()))
	}
}

var errReleased = errors.New("released")

func (s *Store) update(ctx context.Context, shardID, expr, cond string, vals map[string]types.AttributeValue) error {
	in := &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              map[string]types.AttributeValue{attrShard: &types.AttributeValueMemberS{Value: shardID}},
		UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: map[string]string{
			"#shard": attrShard, "#owner": attrOwner, "#timeout": attrTimeout, "#counter": attrCounter,
			"#cp": attrCheckpoint, "#claim": attrClaim, "#claimExpiry": attrClaimExpiry,
		},
		ExpressionAttributeValues: vals,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	// DynamoDB rejects names and values the expressions do not use.
	in.ExpressionAttributeNames = usedNames(in.ExpressionAttributeNames, expr+" "+cond)
	if len(in.ExpressionAttributeValues) == 0 {
		in.ExpressionAttributeValues = nil
	}
	_, err := s.db.UpdateItem(ctx, in)
	return err
}

func usedNames(all map[string]string, exprs string) map[string]string {
	used := map[string]string{}
	for k, v := range all {
		if containsToken(exprs, k) {
			used[k] = v
		}
	}
	return used
}

// containsToken reports whether tok occurs in s not followed by an identifier character.
func containsToken(s, tok string) bool {
	for i := 0; i+len(tok) <= len(s); i++ {
		if s[i:i+len(tok)] != tok {
			continue
		}
		if j := i + len(tok); j == len(s) || !isIdent(s[j]) {
			return true
		}
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// GetLease acquires the shard's lease for worker, or renews it when this worker already
// holds it (Checkpointer interface; the KCL uses the one method for both). See the package
// doc for the rules. Refusals unwrap to the library's ErrLeaseNotAcquired and to one of
// ErrLeaseHeld, ErrShardClaimed, ErrShardFinished or ErrLeaseChanged.
func (s *Store) GetLease(shard *par.ShardStatus, worker string) error {
	if worker != s.worker {
		return fmt.Errorf("checkpoint: store of worker %s asked to lease %s for %s", s.worker, shard.ID, worker)
	}
	ctx, cancel := s.callCtx()
	defer cancel()
	if l := s.Lease(shard.ID); l != nil {
		return s.renew(ctx, shard, l)
	}
	return s.acquire(ctx, shard)
}

func (s *Store) acquire(ctx context.Context, shard *par.ShardStatus) error {
	it, found, err := s.Item(ctx, shard.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	cond := "attribute_not_exists(#shard)"
	vals := map[string]types.AttributeValue{}
	if found {
		switch {
		case it.Checkpoint == ShardEnd:
			return &notAcquired{ErrShardFinished, "shard " + shard.ID}
		case it.ClaimRequest != "" && it.ClaimRequest != s.worker && now.Before(it.ClaimExpiry):
			return &notAcquired{ErrShardClaimed, fmt.Sprintf("shard %s claimed by %s", shard.ID, it.ClaimRequest)}
		case it.Owner != "" && it.Owner != s.worker && now.Before(it.LeaseTimeout):
			return &notAcquired{ErrLeaseHeld, fmt.Sprintf("shard %s held by %s until %s", shard.ID, it.Owner, it.LeaseTimeout.Format(time.RFC3339))}
		}
		cond = "attribute_not_exists(#counter)"
		if it.LeaseCounter > 0 {
			cond = "#counter = :counter"
			vals[":counter"] = nv(it.LeaseCounter)
		}
	}
	expires := now.Add(s.leaseDuration)
	vals[":me"] = sv(s.worker)
	vals[":timeout"] = sv(formatTime(expires))
	vals[":next"] = nv(it.LeaseCounter + 1)
	err = s.update(ctx, shard.ID, "SET #owner = :me, #timeout = :timeout, #counter = :next REMOVE #claim, #claimExpiry", cond, vals)
	if isConditionFailed(err) {
		return &notAcquired{ErrLeaseChanged, "shard " + shard.ID}
	}
	if err != nil {
		return fmt.Errorf("acquire lease of %s in %s: %w", shard.ID, s.table, err)
	}
	s.setHeld(shard.ID, newLease(shard.ID, expires))
	shard.Mux.Lock()
	shard.AssignedTo = s.worker
	shard.LeaseTimeout = expires
	shard.ClaimRequest = ""
	if it.Checkpoint != "" {
		shard.Checkpoint = it.Checkpoint
	}
	shard.Mux.Unlock()
	s.log.Info("lease acquired", slog.String("shard", shard.ID), slog.String("previousOwner", it.Owner),
		slog.String("checkpoint", it.Checkpoint), slog.Int64("leaseCounter", it.LeaseCounter+1))
	return nil
}

// renew extends a lease this worker holds. Any failure ends the lease: the KCL stops
// renewing after an error, so a lease whose renewal failed is as good as lost.
func (s *Store) renew(ctx context.Context, shard *par.ShardStatus, l *Lease) error {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		expires := time.Now().Add(s.leaseDuration)
		err := s.update(ctx, shard.ID, "SET #timeout = :timeout ADD #counter :one",
			"#owner = :me AND (attribute_not_exists(#claim) OR #claim = :me)",
			map[string]types.AttributeValue{":me": sv(s.worker), ":timeout": sv(formatTime(expires)), ":one": nv(1)})
		if err == nil {
			if !l.extend(expires) {
				return l.Err()
			}
			shard.SetLeaseTimeout(expires)
			return nil
		}
		if isConditionFailed(err) {
			it, found, rerr := s.Item(ctx, shard.ID)
			now := time.Now()
			switch {
			case rerr != nil:
				err = fmt.Errorf("renew lease of %s: condition failed and re-read failed: %w", shard.ID, rerr)
			case found && it.Owner == s.worker && it.ClaimRequest != "" && !now.Before(it.ClaimExpiry) && attempt < 2:
				// A stale claim (the claimer never took the lease): drop it and renew.
				cerr := s.update(ctx, shard.ID, "REMOVE #claim, #claimExpiry", "#owner = :me AND #claim = :claim",
					map[string]types.AttributeValue{":me": sv(s.worker), ":claim": sv(it.ClaimRequest)})
				if cerr == nil || isConditionFailed(cerr) {
					continue
				}
				err = cerr
			case found && it.Owner == s.worker && it.ClaimRequest != "":
				err = fmt.Errorf("renew lease of %s: %w by %s: %w", shard.ID, ErrShardClaimed, it.ClaimRequest, ErrLeaseLost)
			case found && it.Owner != "":
				err = fmt.Errorf("renew lease of %s: taken by %s: %w", shard.ID, it.Owner, ErrLeaseLost)
			default:
				err = fmt.Errorf("renew lease of %s: released or removed: %w", shard.ID, ErrLeaseLost)
			}
			s.drop(l, err)
			return err
		}
		// Throttling, 5xx or network trouble: retry while the lease has time left.
		if attempt < 5 && time.Until(l.Expires()) > wait+s.callTimeout {
			select {
			case <-time.After(wait):
				wait *= 2
				continue
			case <-ctx.Done():
			}
		}
		err = fmt.Errorf("renew lease of %s: %w: %w", shard.ID, err, ErrLeaseLost)
		s.drop(l, err)
		return err
	}
}

// CheckpointSequence writes shard's checkpoint (shard.Checkpoint: a sequence number or
// ShardEnd), conditional on this worker owning the lease (Checkpointer interface). It
// refuses without a call when this worker does not hold the lease. Failures wrap
// ErrLeaseLost when the lease is gone.
func (s *Store) CheckpointSequence(shard *par.ShardStatus) error {
	seq := shard.GetCheckpoint()
	l := s.Lease(shard.ID)
	if l == nil || l.Err() != nil {
		s.metrics.CheckpointFailed(s.stream)
		return fmt.Errorf("checkpoint %s at %s: not the lease owner: %w", shard.ID, seq, ErrLeaseLost)
	}
	ctx, cancel := s.callCtx()
	defer cancel()
	err := s.update(ctx, shard.ID, "SET #cp = :cp", "#owner = :me",
		map[string]types.AttributeValue{":cp": sv(seq), ":me": sv(s.worker)})
	if err != nil {
		s.metrics.CheckpointFailed(s.stream)
		if isConditionFailed(err) {
			err = fmt.Errorf("checkpoint %s at %s: another worker owns the lease: %w", shard.ID, seq, ErrLeaseLost)
			s.drop(l, err)
			return err
		}
		return fmt.Errorf("checkpoint %s at %s: %w", shard.ID, seq, err)
	}
	s.metrics.CheckpointSucceeded(s.stream, shard.ID, time.Now())
	return nil
}

// FetchCheckpoint loads the shard's row into shard: checkpoint, owner, lease timeout and
// live claim (Checkpointer interface). It returns the library's ErrSequenceIDNotFound when
// the shard has no checkpoint yet. A row naming this worker as owner of a lease it does not
// hold (left by an earlier process with the same worker id) reads as unowned, so the shard
// loop acquires it again instead of believing it already does.
func (s *Store) FetchCheckpoint(shard *par.ShardStatus) error {
	ctx, cancel := s.callCtx()
	defer cancel()
	it, found, err := s.Item(ctx, shard.ID)
	if err != nil {
		return err
	}
	if !found {
		return chk.ErrSequenceIDNotFound
	}
	s.apply(shard, it, true)
	if it.Checkpoint == "" {
		return chk.ErrSequenceIDNotFound
	}
	return nil
}

// apply copies a row into the library's shard status.
func (s *Store) apply(shard *par.ShardStatus, it Item, withCheckpoint bool) {
	held := s.Lease(shard.ID) != nil
	owner := it.Owner
	if owner == s.worker && !held {
		owner = ""
	}
	claim := ""
	if it.ClaimRequest != "" && time.Now().Before(it.ClaimExpiry) {
		claim = it.ClaimRequest
	}
	shard.Mux.Lock()
	defer shard.Mux.Unlock()
	shard.AssignedTo = owner
	if !it.LeaseTimeout.IsZero() {
		shard.LeaseTimeout = it.LeaseTimeout
	}
	shard.ClaimRequest = claim
	// The checkpoint of a shard we process is ours to set (the KCL sets it just before
	// calling CheckpointSequence); a scan must not overwrite it with an older value.
	if withCheckpoint && it.Checkpoint != "" && (!held || shard.Checkpoint == "") {
		shard.Checkpoint = it.Checkpoint
	}
}

// RemoveLeaseOwner releases this worker's lease on the shard so that another worker can
// take it at once (Checkpointer interface; the KCL calls it when a shard consumer ends).
func (s *Store) RemoveLeaseOwner(shardID string) error {
	l := s.Lease(shardID)
	ctx, cancel := s.callCtx()
	defer cancel()
	err := s.update(ctx, shardID, "REMOVE #owner ADD #counter :one", "#owner = :me",
		map[string]types.AttributeValue{":me": sv(s.worker), ":one": nv(1)})
	s.drop(l, fmt.Errorf("lease on %s %w", shardID, errReleased))
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("release lease of %s: not the owner: %w", shardID, ErrLeaseLost)
		}
		return fmt.Errorf("release lease of %s: %w", shardID, err)
	}
	s.log.Info("lease released", slog.String("shard", shardID))
	return nil
}

// RemoveLeaseInfo deletes the row of a shard that no longer exists in the stream
// (Checkpointer interface).
func (s *Store) RemoveLeaseInfo(shardID string) error {
	ctx, cancel := s.callCtx()
	defer cancel()
	s.drop(s.Lease(shardID), fmt.Errorf("shard %s no longer exists: %w", shardID, ErrLeaseLost))
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table,
		Key:       map[string]types.AttributeValue{attrShard: sv(shardID)},
	})
	if err != nil {
		return fmt.Errorf("delete lease row of %s: %w", shardID, err)
	}
	s.log.Info("lease row of a vanished shard deleted", slog.String("shard", shardID))
	return nil
}

// GetLeaseOwner returns the shard's lease owner (Checkpointer interface), or the
// library's NoLeaseOwnerErr.
func (s *Store) GetLeaseOwner(shardID string) (string, error) {
	ctx, cancel := s.callCtx()
	defer cancel()
	it, found, err := s.Item(ctx, shardID)
	if err != nil {
		return "", err
	}
	if !found || it.Owner == "" {
		return "", chk.NoLeaseOwnerErr
	}
	return it.Owner, nil
}

// ListActiveWorkers scans the table, refreshes the shard statuses from it and returns the
// unfinished shards by owner (Checkpointer interface; used for lease stealing). It returns
// the library's ErrShardNotAssigned while some unfinished shard has no live lease: the KCL
// then leaves the shard to normal acquisition instead of stealing.
func (s *Store) ListActiveWorkers(shards map[string]*par.ShardStatus) (map[string][]*par.ShardStatus, error) {
	ctx, cancel := s.callCtx()
	defer cancel()
	items, err := s.Items(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Item, len(items))
	for _, it := range items {
		byID[it.ShardID] = it
	}
	now := time.Now()
	workers := map[string][]*par.ShardStatus{}
	unassigned := false
	for id, shard := range shards {
		it, ok := byID[id]
		if !ok {
			if shard.GetCheckpoint() != ShardEnd {
				unassigned = true
			}
			continue
		}
		s.apply(shard, it, true)
		if it.Checkpoint == ShardEnd {
			continue
		}
		owner := shard.GetLeaseOwner()
		if owner == "" || !now.Before(it.LeaseTimeout) {
			unassigned = true
			continue
		}
		workers[owner] = append(workers[owner], shard)
	}
	if unassigned {
		return nil, chk.ErrShardNotAssigned
	}
	for _, list := range workers {
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	return workers, nil
}

// ClaimShard marks the shard as claimed by claimer (Checkpointer interface; lease
// stealing). The owner stops renewing when it sees the claim, and releases the lease when
// its shard consumer ends; the claimer then acquires it. A claim lapses after ClaimTimeout.
func (s *Store) ClaimShard(shard *par.ShardStatus, claimer string) error {
	owner := shard.GetLeaseOwner()
	if owner == "" || owner == claimer {
		return fmt.Errorf("claim %s: owner is %q, nothing to steal", shard.ID, owner)
	}
	ctx, cancel := s.callCtx()
	defer cancel()
	now := time.Now()
	err := s.update(ctx, shard.ID, "SET #claim = :claimer, #claimExpiry = :expiry ADD #counter :one",
		"#owner = :owner AND (attribute_not_exists(#claim) OR #claimExpiry < :now)",
		map[string]types.AttributeValue{
			":claimer": sv(claimer), ":expiry": sv(formatTime(now.Add(s.claimTimeout))),
			":owner": sv(owner), ":now": sv(formatTime(now)), ":one": nv(1),
		})
	if err != nil {
		if isConditionFailed(err) {
			return &notAcquired{ErrLeaseChanged, "claim shard " + shard.ID}
		}
		return fmt.Errorf("claim %s: %w", shard.ID, err)
	}
	shard.Mux.Lock()
	shard.ClaimRequest = claimer
	shard.Mux.Unlock()
	s.log.Info("lease claimed for stealing", slog.String("shard", shard.ID), slog.String("owner", owner))
	return nil
}
