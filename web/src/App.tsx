import { AppShell, Burger, Button, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useCallback, useEffect, useState } from 'react';
import { Link, Route, Routes, useLocation } from 'react-router';
import { api, onSignedOut, type Operator, type Session } from './api';
import { AdminPage } from './pages/Admin';
import { AuditPage } from './pages/Audit';
import { DeadLettersPage } from './pages/DeadLetters';
import { DisputePage, DisputesPage } from './pages/Disputes';
import { ExceptionPage, ReconciliationPage, RunPage } from './pages/Reconciliation';
import { HomePage } from './pages/Home';
import { PaymentPage } from './pages/Payment';
import { PaymentsPage } from './pages/Payments';
import { PayoutPage, PayoutsPage } from './pages/Payouts';
import { SellerPage, SellersPage } from './pages/Sellers';
import { SignInPage } from './pages/SignIn';
import { WebhooksPage } from './pages/Webhooks';
import { SessionContext } from './session';

const NAV = [
  ['/', 'Home'],
  ['/payments', 'Payments'],
  ['/sellers', 'Sellers'],
  ['/payouts', 'Payouts'],
  ['/disputes', 'Disputes'],
  ['/reconciliation', 'Reconciliation'],
  ['/dead-letters', 'Dead letters'],
  ['/webhooks', 'Webhooks'],
  ['/audit', 'Audit log'],
] as const;

const ADMIN_NAV = [['/admin', 'Administration']] as const;

function Shell({ operator, onSignOut }: { operator: Operator; onSignOut: () => void }) {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  useEffect(close, [location.pathname, close]);
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'md', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="md" size="sm" aria-label="Menu" />
            <Title order={4}>Bursar</Title>
          </Group>
          <Group gap="sm">
            <Text size="sm" c="dimmed" data-testid="whoami">
              {operator.email} · {operator.role}
            </Text>
            <Button size="xs" variant="default" onClick={onSignOut}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {[...NAV, ...(operator.role === 'admin' ? ADMIN_NAV : [])].map(([to, label]) => (
          <NavLink
            key={to}
            component={Link}
            to={to}
            label={label}
            active={to === '/' ? location.pathname === '/' : location.pathname.startsWith(to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Routes>
          <Route path="/" element={<HomePage />} />
          <Route path="/payments" element={<PaymentsPage />} />
          <Route path="/payments/:id" element={<PaymentPage />} />
          <Route path="/sellers" element={<SellersPage />} />
          <Route path="/sellers/:id" element={<SellerPage />} />
          <Route path="/payouts" element={<PayoutsPage />} />
          <Route path="/payouts/:id" element={<PayoutPage />} />
          <Route path="/disputes" element={<DisputesPage />} />
          <Route path="/disputes/:id" element={<DisputePage />} />
          <Route path="/reconciliation" element={<ReconciliationPage />} />
          <Route path="/reconciliation/exceptions/:id" element={<ExceptionPage />} />
          <Route path="/reconciliation/runs/:id" element={<RunPage />} />
          <Route path="/admin" element={<AdminPage />} />
          <Route path="/dead-letters" element={<DeadLettersPage />} />
          <Route path="/webhooks" element={<WebhooksPage />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="*" element={<Text>No such page.</Text>} />
        </Routes>
      </AppShell.Main>
    </AppShell>
  );
}

export function App() {
  const [operator, setOperator] = useState<Operator | null | undefined>(undefined);
  useEffect(() => {
    api<Session>('GET', '/dashboard/api/session')
      .then((session) => setOperator(session.operator))
      .catch(() => setOperator(null));
    return onSignedOut(() => setOperator(null));
  }, []);
  const signOut = useCallback(() => {
    void api('DELETE', '/dashboard/api/session').finally(() => setOperator(null));
  }, []);
  if (operator === undefined) return <Loader m="xl" />;
  if (operator === null) return <SignInPage onSignedIn={setOperator} />;
  return (
    <SessionContext.Provider value={operator}>
      <Shell operator={operator} onSignOut={signOut} />
    </SessionContext.Provider>
  );
}
