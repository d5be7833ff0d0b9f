package benchmarks

// The example contracts include an ODCS-native domain (examples/contracts/payments):
// linking the odcs format in lets rules.Load read it, as the meshgate binary does.
import _ "github.com/meshgate/meshgate/odcs"
