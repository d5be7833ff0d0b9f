package awsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func dummyCreds(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestS3AgainstGofakes3 checks the S3 client built for an emulator endpoint (path style,
// checksums only when required) really talks to an S3 emulator over plain http, and that
// the Recorder counts each operation once with its IAM action.
func TestS3AgainstGofakes3(t *testing.T) {
	dummyCreds(t)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	rec := NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := New(ctx, Options{Region: "us-east-1", S3Endpoint: srv.URL, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	body := []byte("hello quarantine")
	if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String("a/b.ndjson.gz"), Body: bytes.NewReader(body),
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b.ndjson.gz")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Errorf("read back %q", got)
	}
	if _, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")}); err == nil {
		t.Error("GetObject of a missing key succeeded")
	}
	want := []Call{
		{Service: "S3", Operation: "CreateBucket", Action: "s3:CreateBucket", Calls: 1},
		{Service: "S3", Operation: "GetObject", Action: "s3:GetObject", Calls: 2, Errors: 1},
		{Service: "S3", Operation: "PutObject", Action: "s3:PutObject", Calls: 1},
	}
	if !reflect.DeepEqual(rec.Calls(), want) {
		t.Errorf("recorded %+v\nwant %+v", rec.Calls(), want)
	}

	path := filepath.Join(t.TempDir(), "calls.json")
	if err := rec.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var fromFile []Call
	if err := json.Unmarshal(data, &fromFile); err != nil || !reflect.DeepEqual(fromFile, want) {
		t.Errorf("file holds %s (%v)", data, err)
	}
}

// TestRetriesCountOnce: a call the SDK retries (HTTP 500 twice, then success) counts
// once, and the endpoint override reaches the fake server.
func TestRetriesCountOnce(t *testing.T) {
	dummyCreds(t)
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if hits <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"TableNames":["t1"]}`)
	}))
	defer srv.Close()
	rec := NewRecorder()
	ctx := context.Background()
	c, err := New(ctx, Options{Region: "eu-west-1", DynamoDBEndpoint: srv.URL, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.TableNames, []string{"t1"}) || hits != 3 {
		t.Errorf("tables %v after %d requests", out.TableNames, hits)
	}
	want := []Call{{Service: "DynamoDB", Operation: "ListTables", Action: "dynamodb:ListTables", Calls: 1}}
	if !reflect.DeepEqual(rec.Calls(), want) {
		t.Errorf("recorded %+v, want %+v", rec.Calls(), want)
	}
}

func TestNoRegion(t *testing.T) {
	if _, err := New(context.Background(), Options{}); err == nil {
		t.Fatal("no error without a region")
	}
}
