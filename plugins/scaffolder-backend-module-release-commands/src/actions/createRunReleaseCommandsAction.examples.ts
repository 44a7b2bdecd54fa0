import { TemplateExample } from '@backstage/plugin-scaffolder-node';

export const runReleaseCommandsExamples: TemplateExample[] = [
  {
    description:
      "Run the chosen entity's release commands on the image being deployed; later steps only run if they pass",
    example: `steps:
  - id: release
    name: Run release commands
    action: release-commands:run
    input:
      entityRef: \${{ parameters.entity }}
      image: \${{ parameters.image }}
      environment: production
output:
  links:
    - title: Release commands run
      url: \${{ steps.release.output.runUrl }}
`,
  },
  {
    description:
      'Pass secrets to the commands as environment variables: masked in the log, never stored',
    example: `steps:
  - id: release
    name: Run release commands
    action: release-commands:run
    input:
      entityRef: component:default/shop
      image: registry.example.com/team/shop:\${{ parameters.version }}
      environment: staging
      env:
        DATABASE_URL: \${{ secrets.databaseUrl }}
        DJANGO_SETTINGS_MODULE: shop.settings.staging
`,
  },
  {
    description:
      'Right after registering a component: wait up to 2 minutes for the catalog to ingest it, then run (the default wait is 5 minutes; 0 fails at once)',
    example: `steps:
  - id: register
    name: Register
    action: catalog:register
    input:
      catalogInfoUrl: \${{ parameters.catalogInfoUrl }}
  - id: release
    name: Run release commands
    action: release-commands:run
    input:
      entityRef: \${{ steps.register.output.entityRef }}
      image: \${{ parameters.image }}
      waitForEntitySeconds: 120
`,
  },
];
