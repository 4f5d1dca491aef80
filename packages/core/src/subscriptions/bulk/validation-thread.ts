import { parentPort } from 'node:worker_threads';
import { validateRecords } from './validate-records.ts';
import type { ValidationRequest, ValidationReply } from './validation-threads.ts';

/** A validation thread: batches of records in, what validateRecords made of them out, in order. */
const port = parentPort!;
port.on('message', (request: ValidationRequest) => {
  let reply: ValidationReply;
  try {
    reply = { seq: request.seq, result: validateRecords(request.importId, request.allowedPushHosts, request.records) };
  } catch (error) {
    reply = { seq: request.seq, failure: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });
