// Where `npm start` serves: loopback by default; HUMANOPS_HOST, or with --lan this machine's address on
// its local network, so that a phone on the same network reaches the app (over HTTPS, see stack.mjs).
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/** This machine's first IPv4 address on a network (not loopback, not link-local), or null. */
export function lanAddress(interfaces = networkInterfaces()) {
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal && ipaddr.parse(a.address).range() !== 'linkLocal') return a.address;
    }
  }
  return null;
}

const isLoopback = (host) => host === 'localhost' || (ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback');

/** `{ address, loopback }`: the address to serve on, and whether only this machine can reach it. */
export function servingHost({ lan = false, env = process.env, interfaces } = {}) {
  let address = env.HUMANOPS_HOST ?? '127.0.0.1';
  if (lan) {
    address = lanAddress(interfaces);
    if (!address) throw new Error('--lan: this machine has no IPv4 address on a network (only loopback); connect it, or set HUMANOPS_HOST');
  }
  if (ipaddr.isValid(address) && ipaddr.process(address).range() === 'unspecified') {
    throw new Error(`HUMANOPS_HOST=${address} would serve every address, and no certificate can name them all: name one address (\`npm start -- --lan\` picks the LAN one)`);
  }
  return { address, loopback: isLoopback(address) };
}
