// Shared start-up code for kinesis.js and dynamodb.js: parse flags, bind an emulator's
// http.Server to loopback, print one ready line, and stop cleanly on SIGINT/SIGTERM or, with
// --exit-on-stdin-close, when the parent process goes away (its end of our stdin closes).
'use strict'

const minimist = require('minimist')

module.exports = function serve (name, usage, defaults, create) {
  const argv = minimist(process.argv.slice(2), {
    string: ['host'],
    boolean: ['exit-on-stdin-close', 'help'],
    default: Object.assign({ host: '127.0.0.1', port: 0 }, defaults),
  })
  if (argv.help) {
    console.log(usage)
    process.exit(0)
  }
  const options = {}
  for (const key of Object.keys(defaults)) {
    if (key === 'port') continue
    const value = Number(argv[key])
    if (!Number.isFinite(value) || value < 0) {
      console.error(`${name}: --${key} must be a non-negative number, got ${argv[key]}`)
      process.exit(2)
    }
    options[key] = value
  }
  const port = Number(argv.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}: --port must be 0..65535, got ${argv.port}`)
    process.exit(2)
  }

  const server = create(options)
  // Both emulators do req.on('error', (err) => { throw err }). Since Node 16 a client that
  // closes its connection before the answer (a worker killed mid-call, an SDK timeout) makes
  // the request emit ECONNRESET "aborted", and the rethrow kills the emulator. Drop that one
  // error; anything else still reaches the emulator's handler.
  // Test: reliability/emulators_test.go TestEmulatorsSurviveClientsThatGoAway.
  const handlers = server.listeners('request')
  server.removeAllListeners('request')
  server.on('request', (req, res) => {
    const on = req.on
    req.on = function (event, fn) {
      if (event !== 'error') return on.call(this, event, fn)
      return on.call(this, event, (err) => {
        if (err && err.code === 'ECONNRESET') return
        fn(err)
      })
    }
    for (const h of handlers) h.call(server, req, res)
  })
  server.on('error', (err) => {
    console.error(`${name}: ${err.message}`)
    process.exit(1)
  })
  server.listen(port, argv.host, () => {
    const a = server.address()
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    // The ready line: stack.sh and internal/testenv wait for it and read the port from it.
    console.log(`${name} listening on http://${host}:${a.port}`)
  })

  let stopping = false
  const stop = (why) => {
    if (stopping) return
    stopping = true
    console.log(`${name} stopping (${why})`)
    // The emulators' close() also closes their in-memory store; don't wait on slow keep-alive
    // clients for long.
    setTimeout(() => process.exit(0), 2000).unref()
    server.close(() => process.exit(0))
    if (server.closeAllConnections) server.closeAllConnections()
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  if (argv['exit-on-stdin-close']) {
    process.stdin.on('end', () => stop('stdin closed'))
    process.stdin.on('error', () => stop('stdin error'))
    process.stdin.resume()
  }
}
