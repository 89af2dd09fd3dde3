import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
test('esm deps load', () => {
  expect(typeof KubeConfig).toBe('function');
  expect(z.string().parse('x')).toBe('x');
});
