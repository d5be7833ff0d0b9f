#!/usr/bin/env node
// Starts dynalite (pinned in package.json) on 127.0.0.1 with an in-memory store and short
// CREATING/DELETING/UPDATING delays. Prints "dynalite listening on http://127.0.0.1:PORT".
'use strict'

const serve = require('./serve')

serve('dynalite', [
  'Usage: node dynamodb.js [--port N] [--host H] [--createTableMs MS] [--deleteTableMs MS]',
  '                        [--updateTableMs MS] [--exit-on-stdin-close]',
  'Port 0 (the default) picks a free port; the ready line names it.',
].join('\n'), {
  createTableMs: 50,
  deleteTableMs: 50,
  updateTableMs: 50,
}, (options) => require('dynalite')(options)) // no --path: in-memory (memory-level)
