/** The route a request matched, as the OpenAPI document writes it (`/v1/models/{name}/runs`), for messages and audit. */
import type { Request } from 'express';

export function routeOf(req: Pick<Request, 'route' | 'path' | 'originalUrl' | 'url'>): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return (req.originalUrl ?? req.url ?? req.path ?? '').split('?')[0];
}
