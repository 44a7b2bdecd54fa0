import { ReleaseCommandPreset } from './types';

/**
 * Framework defaults that templates inject and the API lists at `/presets`.
 *
 * @public
 */
export const releaseCommandPresets: ReleaseCommandPreset[] = [
  {
    id: 'django',
    title: 'Django',
    description: 'Apply database migrations.',
    commands: [
      {
        label: 'Migrate database',
        command: 'python manage.py migrate --noinput',
      },
    ],
  },
  {
    id: 'django-cms',
    title: 'django CMS',
    description: 'Apply migrations, then repair the page tree.',
    commands: [
      {
        label: 'Migrate database',
        command: 'python manage.py migrate --noinput',
      },
      { label: 'Fix page tree', command: 'python manage.py cms fix-tree' },
    ],
  },
  {
    id: 'rails',
    title: 'Ruby on Rails',
    description: 'Apply pending Active Record migrations.',
    commands: [{ label: 'Migrate database', command: 'bin/rails db:migrate' }],
  },
  {
    id: 'laravel',
    title: 'Laravel',
    description: 'Run migrations without the production prompt.',
    commands: [
      { label: 'Migrate database', command: 'php artisan migrate --force' },
    ],
  },
  {
    id: 'prisma',
    title: 'Prisma',
    description: 'Apply pending migrations (never creates new ones).',
    commands: [
      { label: 'Deploy migrations', command: 'npx prisma migrate deploy' },
    ],
  },
  {
    id: 'alembic',
    title: 'Alembic (SQLAlchemy)',
    description: 'Upgrade the database to the newest revision.',
    commands: [{ label: 'Upgrade database', command: 'alembic upgrade head' }],
  },
  {
    id: 'flask-migrate',
    title: 'Flask-Migrate',
    description: 'Upgrade the database through the Flask CLI.',
    commands: [{ label: 'Upgrade database', command: 'flask db upgrade' }],
  },
  {
    id: 'phoenix-ecto',
    title: 'Phoenix / Ecto',
    description: 'Run Ecto migrations from a release.',
    commands: [
      {
        label: 'Migrate database',
        command: 'bin/migrate',
      },
    ],
  },
  {
    id: 'knex',
    title: 'Knex',
    description: 'Run the latest migrations.',
    commands: [
      { label: 'Migrate database', command: 'npx knex migrate:latest' },
    ],
  },
  {
    id: 'typeorm',
    title: 'TypeORM',
    description: 'Run pending migrations with the project data source.',
    commands: [
      {
        label: 'Run migrations',
        command: 'npx typeorm migration:run -d dist/data-source.js',
      },
    ],
  },
];

/**
 * The ids of the presets, for schemas that accept one.
 *
 * @public
 */
export const releaseCommandPresetIds = releaseCommandPresets.map(p => p.id);
