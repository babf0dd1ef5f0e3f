import { Alert, Button, Card, Group, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { Fragment, useState } from 'react';
import { ApiError, post, type List } from '../api';
import { Json, Loaded, when } from '../components/Bits';
import { useResource } from '../hooks';
import { useCan } from '../session';

interface Letter {
  id: string;
  queue: string;
  subject: string;
  payload: Record<string, unknown>;
  reason: string;
  attempts: number;
  created_at: string;
  replayed_at: string | null;
}

export function DeadLettersPage() {
  const can = useCan('operator');
  const [all, setAll] = useState(false);
  const letters = useResource<List<Letter>>('/v1/dead_letters', {
    include_replayed: all ? 'true' : undefined,
  });
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const replay = async (id: string) => {
    try {
      await post(`/v1/dead_letters/${encodeURIComponent(id)}/replay`);
      setMessage(`Replayed ${id}.`);
      letters.reload();
    } catch (caught) {
      setMessage(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  };
  return (
    <Stack>
      <Title order={2}>Dead letters</Title>
      <Switch label="Show replayed" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} />
      {message && <Alert role="status">{message}</Alert>}
      <Loaded resource={letters}>
        {(list) => (
          <Table aria-label="Dead letters">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Id</Table.Th>
                <Table.Th>Queue</Table.Th>
                <Table.Th>Subject</Table.Th>
                <Table.Th>Attempts</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.map((letter) => (
                <Fragment key={letter.id}>
                  <Table.Tr data-row-id={letter.id}>
                    <Table.Td>
                      <Button
                        variant="subtle"
                        size="compact-xs"
                        onClick={() => setOpen(open === letter.id ? undefined : letter.id)}
                      >
                        {letter.id}
                      </Button>
                    </Table.Td>
                    <Table.Td>{letter.queue}</Table.Td>
                    <Table.Td>{letter.subject}</Table.Td>
                    <Table.Td>{letter.attempts}</Table.Td>
                    <Table.Td>
                      <Text size="sm" lineClamp={2}>
                        {letter.reason}
                      </Text>
                    </Table.Td>
                    <Table.Td>{when(letter.created_at)}</Table.Td>
                    <Table.Td>
                      {letter.replayed_at ? (
                        <Text size="sm">replayed {when(letter.replayed_at)}</Text>
                      ) : (
                        <Button size="xs" disabled={!can} onClick={() => replay(letter.id)}>
                          Replay
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                  {open === letter.id && (
                    <Table.Tr>
                      <Table.Td colSpan={7}>
                        <Card withBorder>
                          <Json value={letter} />
                        </Card>
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Loaded>
      <Group>
        <Text c="dimmed" size="sm">
          Replaying sends the work again once; the owning module resets it first.
        </Text>
      </Group>
    </Stack>
  );
}
