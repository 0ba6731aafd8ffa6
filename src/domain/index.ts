export * from './generated.ts';
export * from './objects.ts';
export * from './platform.ts';
export * from './names.ts';
export * from './labels.ts';
export * from './errors.ts';
export * from './identity.ts';
export * from './subjects.ts';
