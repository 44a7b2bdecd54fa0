import Typography from '@material-ui/core/Typography';

/**
 * What release commands are for, what belongs in the Dockerfile instead, and
 * the risk of a deploy that fails after a command changed things: shown where
 * an entity has no commands yet, so the first one is added knowingly. Spans,
 * not paragraphs, as it sits inside the empty state's own paragraph.
 */
export function ReleaseCommandsExplanation(props: { defaultTimeout: string }) {
  return (
    <>
      <Typography component="span" display="block" variant="body1" paragraph>
        Release commands run during each deploy, one after another in the order
        listed, each in a fresh container started from the new image; the
        container is then discarded and the deploy goes on. They suit work that
        happens <em>in</em> the application's runtime environment: database
        migrations (<code>python manage.py migrate</code>), a batch repair of
        content (<code>python manage.py cms fix-tree</code>), a self-test of the
        configuration, applying headers to media storage, flushing a content
        cache, or announcing the deploy in a chat channel.
      </Typography>
      <Typography component="span" display="block" variant="body1" paragraph>
        Work that <em>defines</em> the runtime environment, such as compiling
        static files or translations, belongs in the <code>Dockerfile</code>,
        where it runs once when the image is built.
      </Typography>
      <Typography component="span" display="block" variant="body1" paragraph>
        If a command fails or runs past its timeout ({props.defaultTimeout}{' '}
        unless set), the deploy fails and does not go on. Templates and
        frameworks can add commands of their own; they are listed here too.
      </Typography>
      <Typography
        component="span"
        display="block"
        variant="body2"
        color="textSecondary"
      >
        <strong>Caution:</strong> commands have access to the application's
        database and storage, and a command that succeeded is not the end of the
        deploy. If a later command or check fails, the new image is not used and
        the previous release keeps running, but what the earlier commands
        changed (a migrated database) stays applied. Plan for it, for example
        with migrations the previous release can live with.
      </Typography>
    </>
  );
}
