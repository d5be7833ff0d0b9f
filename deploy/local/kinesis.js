#!/usr/bin/env node
// Starts kinesalite (pinned in package.json) on 127.0.0.1 with an in-memory store and short
// CREATING/DELETING/UPDATING delays. Prints "kinesalite listening on http://127.0.0.1:PORT".
'use strict'

const serve = require('./serve')

serve('kinesalite', [
  'Usage: node kinesis.js [--port N] [--host H] [--createStreamMs MS] [--deleteStreamMs MS]',
  '                       [--updateStreamMs MS] [--shardLimit N] [--exit-on-stdin-close]',
  'Port 0 (the default) picks a free port; the ready line names it.',
].join('\n'), {
  createStreamMs: 50,
  deleteStreamMs: 50,
  updateStreamMs: 50,
  // kinesalite rejects CreateStream/SplitShard when the account's open shards would exceed this
  // (its default is 10, too few for tests that create many streams in one emulator).
  shardLimit: 1000,
}, (options) => require('kinesalite')(options)) // no --path: in-memory (memdown)
