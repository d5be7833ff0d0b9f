package reliability

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/meshgate/meshgate/internal/testenv"
)

// TestEmulatorsSurviveClientsThatGoAway: a client that closes its connection before the
// answer (a worker killed with -9 mid-call, an SDK call timing out, the fault proxy passing
// on such a cancellation) must not take the emulator down. kinesalite 3.3.3 and dynalite
// 4.0.0 rethrow the request's 'error' event, which Node (since v16) emits as ECONNRESET
// "aborted" in that case, and die; deploy/local/serve.js swallows that one error. Found by
// TestCrash: dynalite died under the first kill -9 that hit a lease renewal.
func TestEmulatorsSurviveClientsThatGoAway(t *testing.T) {
	t.Parallel()
	st := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, endpoint, target string
		alive                  func() error
	}{
		{"kinesalite", st.Endpoints().Kinesis, "Kinesis_20131202.ListStreams", func() error {
			_, err := st.Kinesis().ListStreams(ctx, &kinesis.ListStreamsInput{})
			return err
		}},
		{"dynalite", st.Endpoints().DynamoDB, "DynamoDB_20120810.ListTables", func() error {
			_, err := st.DynamoDB().ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}},
	} {
		u, err := url.Parse(tc.endpoint)
		if err != nil {
			t.Fatal(err)
		}
		for _, partial := range []bool{true, false} {
			// A request whose body is cut short, then one sent whole but not waited for.
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			body := "{}"
			req := "POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Amz-Target: " + tc.target +
				"\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n" + body
			if !partial {
				req = "POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Amz-Target: " + tc.target +
					"\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n" + body
			}
			if _, err := conn.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // a reset, as when the process dies
			}
			conn.Close()
			time.Sleep(200 * time.Millisecond)
			if err := tc.alive(); err != nil {
				t.Fatalf("%s is gone after a client closed its connection mid-request (partial body %v): %v", tc.name, partial, err)
			}
		}
	}
}
