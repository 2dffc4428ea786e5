/**
 * Request body parsing, in place of Nest's default parsers (the app is created with `bodyParser: false`):
 * JSON up to 10 MB, and YAML documents kept as text for the spec endpoints (parseModelSpec reads YAML and JSON).
 * The dataset upload route is skipped entirely, whatever its content type, so its body reaches the controller as
 * the raw, unread request stream.
 */
import { Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import { json, text } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const JSON_BODY_LIMIT = '10mb';
export const YAML_CONTENT_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** POST /v1/models/{name}/datasets: the streamed upload. */
export function isStreamedUploadRoute(req: Pick<Request, 'method' | 'url' | 'originalUrl'>): boolean {
  // originalUrl: a middleware mounted under a path sees `url` with that prefix stripped.
  const path = (req.originalUrl || req.url).split('?')[0];
  return req.method === 'POST' && /^\/v1\/models\/[^/]+\/datasets\/?$/.test(path);
}

const parsers: RequestHandler[] = [
  json({ limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] }),
  text({ limit: JSON_BODY_LIMIT, type: YAML_CONTENT_TYPES }),
];

function runParser(parser: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    void parser(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

@Injectable()
export class BodyParserMiddleware implements NestMiddleware {
  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!isStreamedUploadRoute(req)) {
      // A rejected parse is thrown from here, so it reaches the exception filter with the request's ID.
      for (const parser of parsers) await runParser(parser, req, res);
    }
    next();
  }
}
