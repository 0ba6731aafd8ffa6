import { z } from 'zod';
import { defineRoute } from './route.ts';
import type { ApiRoute } from './route.ts';
import { problemSchema } from './schemas.ts';

/** An OpenAPI 3.1 document, loosely typed (the shape is fixed by the spec, not by this code). */
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

/** Koa path template → OpenAPI path template (`/tenants/:tenant` → `/tenants/{tenant}`). */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parameters(route: ApiRoute): unknown[] {
  const from = (schema: z.ZodType | undefined, location: 'path' | 'query') => {
    if (!schema) return [];
    const described = jsonSchema(schema, 'input') as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    return Object.entries(described.properties ?? {}).map(([name, property]) => ({
      name,
      in: location,
      required: location === 'path' || (described.required ?? []).includes(name),
      schema: property,
    }));
  };
  return [...from(route.params, 'path'), ...from(route.query, 'query')];
}

const PROBLEM_RESPONSE = { $ref: '#/components/responses/Problem' };

/** Builds the document from the route table, the same table the routers are registered from. */
export function buildOpenApiDocument(routes: ApiRoute[], info: { version: string }): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const contentType =
        response.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { [contentType]: { schema: jsonSchema(response.schema, 'output') } } }
          : response.contentType
            ? { content: { [contentType]: {} } }
            : {}),
      };
    }
    responses['default'] = PROBLEM_RESPONSE;
    const requestBody = route.body
      ? { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } }
      : route.rawBody
        ? {
            required: true,
            description: route.rawBody.description,
            content: { [route.rawBody.contentType]: {} },
          }
        : undefined;
    const openApiPath = toOpenApiPath(route.path);
    paths[openApiPath] ??= {};
    paths[openApiPath][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.resource],
      description: `Authorization: ${route.authorization}.`,
      ...(route.public ? { security: [] } : {}),
      parameters: parameters(route),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tenantmesh management API',
      version: info.version,
      description:
        'Tenants, endpoints, models, access grants and certificates. Errors are application/problem+json.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An OIDC ID token from a trusted issuer, or a Kubernetes ServiceAccount token.',
        },
      },
      responses: {
        Problem: {
          description: 'An error (RFC 9457 problem details)',
          content: { 'application/problem+json': { schema: jsonSchema(problemSchema, 'output') } },
        },
      },
    },
  };
}

/** GET /openapi.json, serving the document built from `routes` (resolved lazily, so it includes itself). */
export function openApiRoute(routes: () => ApiRoute[], version: string): ApiRoute {
  let document: OpenApiDocument | undefined;
  return defineRoute({
    operationId: 'openapi',
    method: 'get',
    path: '/openapi.json',
    resource: 'openapi',
    public: true,
    summary: 'This document',
    authorization: 'none',
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
    async handle() {
      document ??= buildOpenApiDocument(routes(), { version });
      return { status: 200, body: document };
    },
  });
}
