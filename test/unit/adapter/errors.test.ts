import { ProviderError, toProviderError } from '../../../src/adapter/errors.js';
import { fieldPath, parseBody, CreateBulkSchema } from '../../../src/adapter/schemas.js';
import { KubeError } from '../../../src/k8s/errors.js';
import { TranslationError } from '../../../src/translate/job-to-spec.js';

const answer = (e: unknown) => {
  const { error, unexpected } = toProviderError(e);
  return { status: error.status, why: error.why, errorCode: error.errorCode, unexpected };
};

describe('toProviderError', () => {
  it('passes ProviderError and TranslationError through, naming the field', () => {
    expect(answer(new ProviderError(404, 'unknown job 1', 'UNKNOWN_JOB'))).toEqual({
      status: 404,
      why: 'unknown job 1',
      errorCode: 'UNKNOWN_JOB',
      unexpected: false,
    });
    expect(answer(new TranslationError('items[0].specification.product', 'unknown product x', 'UNKNOWN_PRODUCT'))).toEqual({
      status: 400,
      why: 'items[0].specification.product: unknown product x',
      errorCode: 'UNKNOWN_PRODUCT',
      unexpected: false,
    });
  });

  it.each([
    [0, 502, 'CLUSTER_UNAVAILABLE'],
    [500, 502, 'CLUSTER_UNAVAILABLE'],
    [503, 502, 'CLUSTER_UNAVAILABLE'],
    [429, 502, 'CLUSTER_UNAVAILABLE'],
    [409, 409, 'CONFLICT'],
    [403, 500, 'INTERNAL_ERROR'],
    [422, 500, 'INTERNAL_ERROR'],
  ])('maps apiserver %i to %i %s without its message', (code, status, errorCode) => {
    const a = answer(new KubeError(code, 'X', 'secret apiserver detail'));
    expect(a).toMatchObject({ status, errorCode, unexpected: true });
    expect(a.why).not.toContain('secret');
  });

  it('maps body-parser errors', () => {
    expect(answer(Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', status: 400 }))).toMatchObject({
      status: 400,
      errorCode: 'INVALID_JSON',
    });
    expect(answer(Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 }))).toMatchObject({
      status: 413,
      errorCode: 'BODY_TOO_LARGE',
    });
    expect(answer(Object.assign(new Error('x'), { type: 'charset.unsupported', status: 415 }))).toMatchObject({ status: 415 });
  });

  it('hides anything else behind a generic 500', () => {
    expect(answer(new TypeError('cannot read properties of undefined (reading "spec")'))).toEqual({
      status: 500,
      why: 'internal error',
      errorCode: 'INTERNAL_ERROR',
      unexpected: true,
    });
    expect(answer('a string')).toMatchObject({ status: 500 });
  });
});

describe('schemas', () => {
  it('renders zod paths as field paths', () => {
    expect(fieldPath(['items', 3, 'specification', 'replicas'])).toBe('items[3].specification.replicas');
    expect(fieldPath(['items'])).toBe('items');
    expect(fieldPath([])).toBe('(body)');
  });

  it('names the first failing field', () => {
    const e = (() => {
      try {
        parseBody(CreateBulkSchema, { items: [{ id: 'x' }] });
      } catch (err) {
        return err as ProviderError;
      }
    })();
    expect(e).toBeInstanceOf(ProviderError);
    expect(e!.status).toBe(400);
    expect(e!.errorCode).toBe('INVALID_REQUEST');
    expect(e!.why).toMatch(/^items\[0\]\.owner: /);
    expect(() => parseBody(CreateBulkSchema, [])).toThrow(/^\(body\): /);
  });
});
