package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Bounds of an S3 contracts source: a prefix holding more objects or bytes than this is
// refused rather than downloaded.
const (
	MaxS3Objects = 1000
	MaxS3Bytes   = 64 << 20
)

// S3API is the part of the S3 client an S3Source uses; *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Source is a contracts directory kept under an S3 prefix (s3://bucket/prefix/...), e.g.
// published by a CI pipeline. Its stamp is a hash of every object's key, ETag and size
// under the prefix (one ListObjectsV2 per 1000 objects, nothing downloaded). Fetch
// downloads the objects into a fresh temporary directory, keeping their paths relative to
// the prefix; every object must still have the ETag it was listed with (GetObject
// If-Match), so an upload racing the download fails the fetch instead of mixing two
// versions, and the next poll tries again.
type S3Source struct {
	Client S3API
	Bucket string
	// Prefix is the key prefix; a trailing "/" is implied.
	Prefix string
	// TempDir is where downloads go (default os.TempDir()).
	TempDir string
}

// ParseS3URI splits s3://bucket/prefix into bucket and prefix (without leading or trailing
// slashes). ok is false when uri is not an s3:// URI with a bucket.
func ParseS3URI(uri string) (bucket, prefix string, ok bool) {
	rest, found := strings.CutPrefix(uri, "s3://")
	if !found {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, strings.Trim(prefix, "/"), bucket != ""
}

// String returns s3://bucket/prefix.
func (s *S3Source) String() string { return "s3://" + s.Bucket + "/" + s.prefix() }

func (s *S3Source) prefix() string {
	p := strings.Trim(s.Prefix, "/")
	if p != "" {
		p += "/"
	}
	return p
}

type s3Object struct {
	key, etag string
	size      int64
}

func (s *S3Source) list(ctx context.Context) ([]s3Object, string, error) {
	var objs []s3Object
	var total int64
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.prefix())}
	for {
		out, err := s.Client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", s, err)
		}
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") { // a "directory" marker
				continue
			}
			objs = append(objs, s3Object{key: key, etag: aws.ToString(o.ETag), size: aws.ToInt64(o.Size)})
			total += aws.ToInt64(o.Size)
		}
		if len(objs) > MaxS3Objects || total > MaxS3Bytes {
			return nil, "", fmt.Errorf("%s holds more than %d objects or %d bytes; refusing to load it as contracts", s, MaxS3Objects, MaxS3Bytes)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	h := sha256.New()
	for _, o := range objs {
		fmt.Fprintf(h, "%s\x00%s\x00%d\n", o.key, o.etag, o.size)
	}
	return objs, hex.EncodeToString(h.Sum(nil)), nil
}

// Stamp lists the prefix.
func (s *S3Source) Stamp(ctx context.Context) (string, error) {
	_, stamp, err := s.list(ctx)
	return stamp, err
}

// Fetch downloads the prefix into a new temporary directory; cleanup removes it.
func (s *S3Source) Fetch(ctx context.Context) (string, string, func(), error) {
	objs, stamp, err := s.list(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if len(objs) == 0 {
		return "", "", nil, fmt.Errorf("%s holds no objects", s)
	}
	dir, err := os.MkdirTemp(s.TempDir, "meshgate-contracts-")
	if err != nil {
		return "", "", nil, fmt.Errorf("fetch %s: %w", s, err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	for _, o := range objs {
		rel := strings.TrimPrefix(o.key, s.prefix())
		clean := path.Clean("/" + rel)[1:]
		if clean == "" || clean != rel {
			cleanup()
			return "", "", nil, fmt.Errorf("fetch %s: object key %q is not a plain relative path", s, o.key)
		}
		if err := s.download(ctx, o, filepath.Join(dir, filepath.FromSlash(clean))); err != nil {
			cleanup()
			return "", "", nil, err
		}
	}
	return dir, stamp, cleanup, nil
}

// errChanged is returned when an object changed between the listing and its download.
var errChanged = errors.New("object changed while the contracts were downloaded")

func (s *S3Source) download(ctx context.Context, o s3Object, dst string) error {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(o.key)}
	if o.etag != "" {
		in.IfMatch = aws.String(o.etag)
	}
	out, err := s.Client.GetObject(ctx, in)
	if err != nil {
		if apiStatus(err) == 412 {
			return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, o.key, errChanged)
		}
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, o.key, err)
	}
	defer out.Body.Close()
	if o.etag != "" && out.ETag != nil && aws.ToString(out.ETag) != o.etag {
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, o.key, errChanged)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(out.Body, MaxS3Bytes+1)); err != nil {
		f.Close()
		return fmt.Errorf("get s3://%s/%s: %w", s.Bucket, o.key, err)
	}
	return f.Close()
}

// apiStatus returns the HTTP status code of an SDK error, or 0.
func apiStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
