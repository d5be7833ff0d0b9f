package reload

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/rules"
)

// fakeS3 is an in-process gofakes3 and a client for it.
func fakeS3(t *testing.T, bucket string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	c := awsclient.NewS3(cfg, srv.URL)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func putObject(t *testing.T, c *s3.Client, bucket, key string, data []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

// upload copies a local contracts directory under prefix.
func upload(t *testing.T, c *s3.Client, bucket, prefix, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		putObject(t, c, bucket, prefix+"/"+filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseS3URI(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix string }{
		{"s3://b/contracts/prod/", "b", "contracts/prod"},
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
	} {
		b, p, ok := ParseS3URI(tc.in)
		if !ok || b != tc.bucket || p != tc.prefix {
			t.Errorf("%s: %q %q %v", tc.in, b, p, ok)
		}
	}
	for _, bad := range []string{"/dir", "s3://", "S3://b/p"} {
		if _, _, ok := ParseS3URI(bad); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestS3SourceReloads(t *testing.T) {
	const bucket = "contracts"
	c := fakeS3(t, bucket)
	local := copyExamples(t)
	upload(t, c, bucket, "prod", local)
	putObject(t, c, bucket, "prod-other/orders.yaml", []byte("not: contracts")) // a sibling prefix is not read

	src := &S3Source{Client: c, Bucket: bucket, Prefix: "prod/", TempDir: t.TempDir()}
	ctx := context.Background()
	r, err := New(ctx, Config{Source: src, Options: rules.Options{HashSalt: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Current().ByDomain("orders").Version; v != "2.1.0" {
		t.Fatalf("orders %s", v)
	}
	if entries, _ := os.ReadDir(src.TempDir); len(entries) != 0 {
		t.Errorf("download directory not cleaned up: %v", entries)
	}
	stamp, err := src.Stamp(ctx)
	if err != nil {
		t.Fatal(err)
	}

	orders, _ := os.ReadFile(filepath.Join(local, "orders.yaml"))
	putObject(t, c, bucket, "prod/orders.yaml", bytes.Replace(orders, []byte("version: 2.1.0"), []byte("version: 2.2.0"), 1))
	if again, _ := src.Stamp(ctx); again == stamp {
		t.Fatal("stamp did not change with the object")
	}
	if err := r.Reload(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if v := r.Current().ByDomain("orders").Version; v != "2.2.0" {
		t.Fatalf("orders %s after reload", v)
	}

	// A broken object: the error names the S3 object, not the temporary directory.
	putObject(t, c, bucket, "prod/orders.yaml", bytes.Replace(orders, []byte("is_email(customer_email)"), []byte("is_emial(customer_email)"), 1))
	err = r.Reload(ctx, "test")
	var list rules.ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("err = %v", err)
	}
	if want := "s3://contracts/prod/orders.yaml:35:12: rule \"customer_email_valid\" check: unknown function is_emial"; !strings.HasPrefix(list[0].Error(), want) {
		t.Errorf("error %q, want prefix %q", list[0].Error(), want)
	}
	if v := r.Current().ByDomain("orders").Version; v != "2.2.0" {
		t.Errorf("broken upload replaced the set: orders %s", v)
	}
}

func TestS3SourceRefusesEscapingKeys(t *testing.T) {
	const bucket = "contracts"
	c := fakeS3(t, bucket)
	putObject(t, c, bucket, "p/../../etc/x.yaml", []byte("domain: x"))
	src := &S3Source{Client: c, Bucket: bucket, Prefix: "p", TempDir: t.TempDir()}
	_, _, _, err := src.Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is not a plain relative path") {
		t.Fatalf("err = %v", err)
	}
}

func TestS3SourceEmptyPrefix(t *testing.T) {
	c := fakeS3(t, "contracts")
	_, err := New(context.Background(), Config{Source: &S3Source{Client: c, Bucket: "contracts", Prefix: "none"}})
	if err == nil || !strings.Contains(err.Error(), "s3://contracts/none/ holds no objects") {
		t.Fatalf("err = %v", err)
	}
}

// racingS3 uploads a new version of an object right after every listing, as a CI job
// publishing contracts while a worker downloads them would.
type racingS3 struct {
	*s3.Client
	t      *testing.T
	bucket string
}

func (r racingS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	out, err := r.Client.ListObjectsV2(ctx, in, optFns...)
	putObject(r.t, r.Client, r.bucket, "p/orders.yaml", []byte("domain: orders # "+strings.Repeat("x", len(out.Contents))+r.t.Name()))
	return out, err
}

func TestS3SourceUploadRacingTheDownload(t *testing.T) {
	c := fakeS3(t, "contracts")
	putObject(t, c, "contracts", "p/orders.yaml", []byte("domain: orders\n"))
	src := &S3Source{Client: racingS3{Client: c, t: t, bucket: "contracts"}, Bucket: "contracts", Prefix: "p", TempDir: t.TempDir()}
	_, _, _, err := src.Fetch(context.Background())
	if !errors.Is(err, errChanged) {
		t.Fatalf("err = %v, want %v", err, errChanged)
	}
	if entries, _ := os.ReadDir(src.TempDir); len(entries) != 0 {
		t.Errorf("download directory not cleaned up: %v", entries)
	}
}
