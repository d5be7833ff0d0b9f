package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"--listen", "127.0.0.1:0"}, pw, &stderr)
		pw.Close()
		done <- code
	}()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (stderr %q)", err, stderr.String())
	}
	endpoint, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("ready line %q, want \"listening on http://127.0.0.1:PORT\"", line)
	}
	go io.Copy(io.Discard, pr)

	c := s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	if _, err := c.CreateBucket(rctx, &s3.CreateBucketInput{Bucket: aws.String("meshgate-quarantine")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	_, err = c.PutObject(rctx, &s3.PutObjectInput{
		Bucket: aws.String("meshgate-quarantine"), Key: aws.String("a/b.ndjson.gz"),
		Body: bytes.NewReader([]byte("payload")), ServerSideEncryption: "AES256",
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String("meshgate-quarantine"), Key: aws.String("a/b.ndjson.gz")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "payload" {
		t.Errorf("GetObject = %q, want %q", body, "payload")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run returned %d after ctx was cancelled, want 0 (stderr %q)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after ctx was cancelled")
	}
}

func TestBadListenAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--listen", "127.0.0.1:notaport"}, &stdout, &stderr); code != 1 {
		t.Errorf("run with a bad address = %d, want 1 (stderr %q)", code, stderr.String())
	}
	if code := run(context.Background(), []string{"--nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("run with an unknown flag = %d, want 2", code)
	}
}
