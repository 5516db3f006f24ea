/** Tensor values for prediction inputs and job instances: deep, huge, mis-shaped or ill-typed. */
import fc from 'fast-check';
import { hostileObject, hostileValue, Labelled } from './hostile-values';
import { deepNesting, RawJson } from './json-text';

/** A tensor value for an input `x` float32 [-1, columns]: deep, huge, mis-shaped or ill-typed. */
export function hostileTensor(columns: number): fc.Arbitrary<Labelled<unknown>> {
  const row = (values: unknown[]) => values.slice(0, columns);
  // Hundreds, thousands and tens of thousands of levels: limits and stack depths differ by code path.
  const depth = fc.oneof(
    fc.integer({ min: 100, max: 3000 }),
    fc.integer({ min: 3000, max: 10_000 }),
    fc.integer({ min: 10_000, max: 30_000 }),
  );
  const deep = (label: string, build: (d: number) => unknown) => ({
    arbitrary: depth.map((d) => ({ value: build(d), label: `${label} nested ${d} deep` })),
    weight: 2,
  });
  return fc.oneof(
    deep('tensor', (d) => deepNesting(d, 'array')),
    deep('tensor object', (d) => deepNesting(d, 'object')),
    deep('a shape entry', (d) => ({ shape: [1, deepNesting(d, 'array')], data: [1] })),
    deep('a data element', (d) => ({
      shape: [1, columns],
      data: [deepNesting(d, 'array'), 2, 3, 4].slice(0, columns),
    })),
    deep('an element', (d) => [[1, 2, 3, deepNesting(d, 'array')].slice(-columns)]),
    fc.integer({ min: 3, max: 60_000 }).map((rank) => ({
      value: { shape: new Array<number>(rank).fill(1), data: [1] },
      label: `shape of rank ${rank}`,
    })),
    fc
      .constantFrom<unknown[]>(
        [1e9, 1e9],
        [2 ** 53, 4],
        [-1, 4],
        [0, 4],
        [1.5, 4],
        [1e308, 4],
        ['1', '4'],
        [null, 4],
        [],
      )
      .map((shape) => ({ value: { shape, data: [] }, label: `shape ${JSON.stringify(shape)}` })),
    fc.array(hostileValue, { minLength: columns, maxLength: columns }).map((values) => ({
      value: { shape: [1, columns], data: values.map((v) => v.value) },
      label: `data ${values.map((v) => v.label).join(', ')}`.slice(0, 120),
    })),
    fc.array(hostileNumberOrToken(), { minLength: columns, maxLength: columns }).map((values) => ({
      value: [row(values)],
      label: 'row of odd numbers',
    })),
    fc.integer({ min: 1000, max: 30_000 }).map((rows) => ({
      value: new RawJson(
        `[${new Array<string>(rows).fill(`[${new Array<string>(columns).fill('1').join(',')}]`).join(',')}]`,
      ),
      label: `${rows} rows (${rows * columns} elements)`,
    })),
    fc.constantFrom<unknown>('float16', 'string', 'int64', 'FLOAT32', '', null, 1).map((dtype) => ({
      value: { shape: [1, columns], data: new Array<number>(columns).fill(1), dtype },
      label: `dtype ${JSON.stringify(dtype)}`,
    })),
    hostileObject.map((h) => ({ value: h.value, label: `tensor is ${h.label}` })),
    fc
      .constantFrom<unknown>(1, 'x', null, true, [], [[]], [[1, 2], [3]], { data: [1] }, { shape: [1, columns] })
      .map((v) => ({
        value: v,
        label: `tensor ${JSON.stringify(v)}`,
      })),
  );
}

function hostileNumberOrToken(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(1e39, -1e39, 3.4028235e38, 5e-324, '1', 'NaN', null, true, [], {}),
    fc.constantFrom('1e400', '-1e400', '99999999999999999999').map((t) => new RawJson(t)),
    fc.double(),
  );
}
