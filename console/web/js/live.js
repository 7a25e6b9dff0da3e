// Changes appear without a reload: the ledger's head seq is polled every second (one small GET
// that every role may make), and when it moves the current page reads its data again. Polling
// rather than a stream keeps the server a plain request/response API; a change shows within
// about a second plus one read.

import { get } from './api.js';

const INTERVAL_MS = 1000;
let loop = 0; // the running poll loop; a loop whose number is stale ends
let seq = null;

async function poll(mine, onChange, badge) {
  if (mine !== loop) return;
  try {
    const head = await get('/v1/ledger/head');
    badge.classList.remove('offline');
    if (mine !== loop) return;
    if (seq !== null && head.seq !== seq) onChange(head.seq);
    seq = head.seq;
  } catch {
    badge.classList.add('offline');
  }
  setTimeout(() => poll(mine, onChange, badge), INTERVAL_MS);
}

// Starts polling (ending any earlier loop); `onChange(seq)` runs whenever the head moves, `badge`
// is marked .offline while the daemon does not answer.
export function startLive(onChange, badge) {
  seq = null;
  poll(++loop, onChange, badge);
}

export function stopLive() {
  ++loop;
}
