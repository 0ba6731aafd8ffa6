import { describe, expect, it } from 'vitest';
import { bodySchema, KINDS, present, type EntityRow } from '../../../src/registry/kinds.ts';

describe('registry bodies', () => {
  const createModel = bodySchema(KINDS['registered-model'], 'create');
  const updateModel = bodySchema(KINDS['registered-model'], 'update');

  it('reads a create body into storage terms, typed custom properties kept as given', () => {
    const input = createModel.parse({
      name: 'fraud',
      owner: 'ann',
      language: ['en'],
      customProperties: {
        epochs: { metadataType: 'MetadataIntValue', int_value: '12' },
        accuracy: { metadataType: 'MetadataDoubleValue', double_value: 0.97 },
        framework: { metadataType: 'MetadataStringValue', string_value: 'torch' },
        tuned: { metadataType: 'MetadataBoolValue', bool_value: true },
      },
    });
    expect(input).toMatchObject({ name: 'fraud', properties: { owner: 'ann', language: ['en'] } });
    expect(input.customProperties?.['epochs']).toEqual({ metadataType: 'MetadataIntValue', int_value: '12' });
  });

  it('ignores the read-only fields clients echo back, and refuses unknown ones', () => {
    expect(createModel.safeParse({ name: 'a', id: '1', createTimeSinceEpoch: '1' }).success).toBe(true);
    expect(createModel.safeParse({ name: 'a', colour: 'red' }).success).toBe(false);
  });

  it.each([
    [{ name: 'a', state: 'DELETED' }],
    [{ name: '' }],
    [{}],
    [{ name: 'a', customProperties: { x: { metadataType: 'MetadataIntValue', int_value: 'twelve' } } }],
    [
      {
        name: 'a',
        customProperties: { x: { metadataType: 'MetadataIntValue', int_value: '99999999999999999999' } },
      },
    ],
    [{ name: 'a', customProperties: { x: { metadataType: 'MetadataStringValue', int_value: '1' } } }],
    [{ name: 'a', customProperties: { x: { metadataType: 'MetadataMagicValue' } } }],
  ])('refuses an invalid create body: %j', (body) => {
    expect(createModel.safeParse(body).success).toBe(false);
  });

  it('an update may clear optional fields with null but never the name', () => {
    expect(updateModel.parse({ description: null, owner: null, state: 'ARCHIVED' })).toEqual({
      description: null,
      state: 'ARCHIVED',
      properties: { owner: null },
    });
    expect(updateModel.safeParse({ name: 'renamed' }).success).toBe(false);
  });

  it('a model version needs its registered model, except on the nested route', () => {
    const spec = KINDS['model-version'];
    expect(bodySchema(spec, 'create').safeParse({ name: '1' }).success).toBe(false);
    expect(bodySchema(spec, 'create', { parentInPath: true }).safeParse({ name: '1' }).success).toBe(true);
  });

  it('presents ids and times as strings, the parent under its contract name, and no null fields', () => {
    const row: EntityRow = {
      tenant: 'acme',
      id: '7',
      kind: 'model-version',
      parent_id: '3',
      name: '1',
      external_id: null,
      description: null,
      state: 'LIVE',
      properties: { author: 'ann' },
      custom_properties: {},
      create_time: '1700000000000',
      update_time: '1700000000001',
    };
    expect(present(row)).toEqual({
      id: '7',
      name: '1',
      customProperties: {},
      createTimeSinceEpoch: '1700000000000',
      lastUpdateTimeSinceEpoch: '1700000000001',
      state: 'LIVE',
      registeredModelId: '3',
      author: 'ann',
    });
  });
});
