// Package awsclient builds the AWS SDK configuration and the Kinesis, DynamoDB and S3
// clients meshgate uses, with optional endpoint overrides for local emulators.
//
// Credentials always come from the SDK's default chain (environment, shared profile, ECS
// task role, EKS IRSA, instance profile); nothing here takes a secret. A Recorder, when
// given, counts every AWS operation the clients call, which is how the IAM policy's
// least-privilege claim is checked against what the worker really does.
package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options say where the clients go.
type Options struct {
	// Region is the AWS region; required.
	Region string
	// KinesisEndpoint, DynamoDBEndpoint and S3Endpoint override the service endpoints
	// (e.g. http://127.0.0.1:4567 for kinesalite). Empty means AWS's own endpoint.
	KinesisEndpoint, DynamoDBEndpoint, S3Endpoint string
	// Recorder, if not nil, counts every operation the clients call.
	Recorder *Recorder
	// ResponseHeaderTimeout bounds the wait for a response's headers once a request was
	// sent, so a stalled connection fails and is retried instead of hanging a shard
	// (the KCL calls the SDK without deadlines). Default 30s.
	ResponseHeaderTimeout time.Duration
}

// Clients are the three service clients built on one aws.Config.
type Clients struct {
	Config   aws.Config
	Kinesis  *kinesis.Client
	DynamoDB *dynamodb.Client
	S3       *s3.Client
	opts     Options
}

// New loads the SDK configuration from the default chain for opts.Region and builds the
// three clients.
func New(ctx context.Context, opts Options) (*Clients, error) {
	cfg, err := LoadConfig(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Clients{
		Config:   cfg,
		Kinesis:  NewKinesis(cfg, opts.KinesisEndpoint),
		DynamoDB: NewDynamoDB(cfg, opts.DynamoDBEndpoint),
		S3:       NewS3(cfg, opts.S3Endpoint),
		opts:     opts,
	}, nil
}

// KinesisWith builds another Kinesis client on the same configuration and endpoint with
// extra options (the KCL adapter adds its middleware this way).
func (c *Clients) KinesisWith(optFns ...func(*kinesis.Options)) *kinesis.Client {
	return NewKinesis(c.Config, c.opts.KinesisEndpoint, optFns...)
}

// LoadConfig loads the SDK configuration (default credential chain) for opts.Region with
// meshgate's HTTP client and, if opts.Recorder is set, the recording middleware.
func LoadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	if opts.Region == "" {
		return aws.Config{}, fmt.Errorf("load AWS config: no region")
	}
	rht := opts.ResponseHeaderTimeout
	if rht <= 0 {
		rht = 30 * time.Second
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = rht
		tr.MaxIdleConnsPerHost = 64
	})
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(opts.Region),
		awsconfig.WithHTTPClient(httpClient),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if opts.Recorder != nil {
		cfg.APIOptions = append(cfg.APIOptions, opts.Recorder.APIOption)
	}
	return cfg, nil
}

// NewKinesis builds a Kinesis client; endpoint overrides the service endpoint when set.
func NewKinesis(cfg aws.Config, endpoint string, optFns ...func(*kinesis.Options)) *kinesis.Client {
	return kinesis.NewFromConfig(cfg, append([]func(*kinesis.Options){func(o *kinesis.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}

// NewDynamoDB builds a DynamoDB client; endpoint overrides the service endpoint when set.
func NewDynamoDB(cfg aws.Config, endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}

// NewS3 builds an S3 client. With an endpoint override it uses path-style addressing
// (bucket in the path, as S3 emulators need) and computes request checksums only where
// an operation requires them, because emulators do not all understand the SDK's default
// streaming (aws-chunked) checksum trailers.
func NewS3(cfg aws.Config, endpoint string, optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}}, optFns...)...)
}
