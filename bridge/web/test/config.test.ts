import { describe, expect, test } from 'vitest';
import { reachable } from '../src/config';

describe('reachable', () => {
  test('a page on loopback uses the URLs as the node gives them', () => {
    expect(reachable('http://127.0.0.1:8545', '127.0.0.1')).toBe('http://127.0.0.1:8545');
    expect(reachable('http://127.0.0.1:8545', 'localhost')).toBe('http://127.0.0.1:8545');
  });
  test('a page loaded from another host reaches loopback RPCs on that host', () => {
    expect(reachable('http://127.0.0.1:9545', '192.168.1.20')).toBe('http://192.168.1.20:9545');
    expect(reachable('http://localhost:9545/rpc', 'devbox')).toBe('http://devbox:9545/rpc');
  });
  test('an RPC elsewhere (e.g. --l1-rpc) stays as it is', () => {
    expect(reachable('https://sepolia.example.org/v3/key', '192.168.1.20')).toBe('https://sepolia.example.org/v3/key');
  });
});
