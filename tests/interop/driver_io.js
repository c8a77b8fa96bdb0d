// The JSON-lines plumbing both browser drivers share: command-line
// arguments (--name value), events written one per line to stdout, and
// commands read one per line from stdin (the reader is created when this
// module loads, so no line sent before the browser is up is lost).
'use strict';

const readline = require('readline');

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

const lines = readline.createInterface({input: process.stdin});
const commands = lines[Symbol.asyncIterator]();

module.exports = {arg, emit, commands};
