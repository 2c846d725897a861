// Where `npm start` serves: loopback by default, HUMANOPS_HOST, or with --lan the machine's address
// on its network (never a link-local one, never "every address", which no certificate can name).
import { describe, expect, it } from 'vitest';
import { lanAddress, servingHost } from '../scripts/lib/host.mjs';

const nic = (address: string, family = 'IPv4', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null });

describe('the address npm start serves on', () => {
  it('is loopback by default, and HUMANOPS_HOST when set', () => {
    expect(servingHost({ env: {} })).toEqual({ address: '127.0.0.1', loopback: true });
    expect(servingHost({ env: { HUMANOPS_HOST: 'localhost' } })).toEqual({ address: 'localhost', loopback: true });
    expect(servingHost({ env: { HUMANOPS_HOST: '192.168.1.20' } })).toEqual({ address: '192.168.1.20', loopback: false });
  });

  it('with --lan, is the first IPv4 address on a network: not loopback, not link-local, not IPv6', () => {
    const interfaces = {
      lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
      eth0: [nic('fe80::1', 'IPv6'), nic('169.254.3.4'), nic('192.168.1.20')],
    };
    expect(lanAddress(interfaces)).toBe('192.168.1.20');
    expect(servingHost({ lan: true, env: { HUMANOPS_HOST: '10.0.0.1' }, interfaces })).toEqual({ address: '192.168.1.20', loopback: false });
    expect(() => servingHost({ lan: true, env: {}, interfaces: { lo: interfaces.lo } })).toThrow('--lan: this machine has no IPv4 address on a network');
  });

  it('refuses every address at once: no certificate can name them all', () => {
    expect(() => servingHost({ env: { HUMANOPS_HOST: '0.0.0.0' } })).toThrow('name one address');
    expect(() => servingHost({ env: { HUMANOPS_HOST: '::' } })).toThrow('name one address');
  });
});
