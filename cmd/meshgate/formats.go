package main

// Contract formats beyond the native YAML register themselves with rules.Load when linked in:
// ODCS documents (*.odcs.yaml) and their meshgate bindings (*.meshgate.yaml).
import _ "github.com/meshgate/meshgate/odcs"
