// One warm Lambda Node.js execution environment: run as `node worker.js CONFIG_JSON`.
//
// The twin of worker.py, with the same protocol: events arrive one JSON line at a time on
// stdin ({"event": ...}); each outcome ({"result": ...} or {"error", "message", "trace"}) is
// written to stdout after the RESULT_MARKER line, so the function's own console output stays
// readable there. The templates ask for the nodejs24.x runtime; this machine has Node 20, which
// runs the CDK's handlers (plain CommonJS, async handlers) the same way.
//
// As in Lambda, the only code a handler can require is Node's own modules, its code asset and
// the SDK the runtime provides: NODE_PATH names exactly those two folders, and the module lookup
// is kept inside them (no node_modules folder of this repository or of the machine leaks in).
//
// CONFIG_JSON: {"handler", "function_name", "memory_mb", "timeout_s", "arn", "task_root",
// "routes"}. `routes` maps "host:port" to a local port: a CloudFormation ResponseURL is an https
// URL on port 443 (the CDK handlers drop any other port), served here by the harness on an
// ephemeral port of the same host; this stands in for the network between Lambda and S3.
"use strict";

const https = require("node:https");
const path = require("node:path");
const readline = require("node:readline");
const { randomUUID } = require("node:crypto");
const Module = require("node:module");

const RESULT_MARKER = "@@ragline-deployed-test-result@@";

function confineModuleLookup() {
  const roots = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
  const inside = (folder) => roots.some((root) => folder === root || folder.startsWith(root + path.sep));
  const lookupPaths = Module._resolveLookupPaths;
  Module._resolveLookupPaths = (request, parent) => lookupPaths(request, parent)?.filter(inside) ?? null;
}

function routeConnections(routes) {
  class RoutedAgent extends https.Agent {
    createConnection(options, callback) {
      const port = routes[`${options.host}:${options.port}`];
      return super.createConnection(port ? { ...options, port } : options, callback);
    }
  }
  https.globalAgent = new RoutedAgent();
}

function context(config) {
  const deadline = Date.now() + config.timeout_s * 1000;
  return {
    functionName: config.function_name,
    functionVersion: "$LATEST",
    invokedFunctionArn: config.arn,
    memoryLimitInMB: String(config.memory_mb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${config.function_name}`,
    logStreamName: "deployed-test",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function failure(error) {
  const name = error?.name || error?.constructor?.name || "Error";
  return { error: name, message: String(error?.message ?? error), trace: String(error?.stack ?? "") };
}

function loadHandler(config) {
  // "framework.onEvent": the module framework(.js) in the task root, its export onEvent.
  const dot = config.handler.lastIndexOf(".");
  const module = require(path.join(config.task_root, config.handler.slice(0, dot)));
  const handler = module[config.handler.slice(dot + 1)];
  if (typeof handler !== "function") {
    throw new Error(`${config.handler} is not a function of the code asset`);
  }
  return handler;
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  confineModuleLookup();
  routeConnections(config.routes || {});
  let handler;
  let initError;
  try {
    handler = loadHandler(config);
  } catch (error) {
    initError = error; // reported with the first event, as Lambda reports an init failure
  }
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    let outcome;
    if (initError) {
      outcome = failure(initError);
    } else {
      try {
        // nodejs24.x has no callback-style handlers: a handler returns its result (or a promise).
        outcome = { result: (await handler(request.event, context(config))) ?? null };
      } catch (error) {
        outcome = failure(error);
      }
    }
    process.stdout.write(`${RESULT_MARKER}\n${JSON.stringify(outcome)}\n`);
  }
}

main();
