import express from 'express';
import Router from 'express-promise-router';

/** The plugin's HTTP API, mounted under `/api/release-commands`. */
export async function createRouter(): Promise<express.Router> {
  const router = Router();
  router.use(express.json({ limit: '256kb' }));

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  return router;
}
