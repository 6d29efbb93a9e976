use super::*;

fn name(b: u8) -> IpnsName {
    kaichi_identity::IpnsKeypair::from_seed(&[b; 32]).name()
}

#[test]
fn requests_are_answered_once_within_the_window() {
    let mut c = JoinChecks::new();
    let now = 10_000_000;
    assert_eq!(c.fresh(name(1), &[1; 16], now, now), Ok(()));
    assert_eq!(c.fresh(name(1), &[1; 16], now, now), Err(Drop::Replay));
    assert_eq!(c.fresh(name(2), &[1; 16], now, now), Ok(()));
    let late = now - JOIN_REQUEST_WINDOW.as_millis() as u64 - 1;
    assert_eq!(c.fresh(name(1), &[2; 16], late, now), Err(Drop::Stale));
    let t = Instant::now();
    assert!(c.may_request(name(1), t));
    assert!(!c.may_request(name(1), t + Duration::from_secs(1)));
    assert!(c.may_request(name(1), t + JOIN_REQUEST_INTERVAL));
}

#[test]
fn a_round_of_any_size_goes_through_in_turns_and_ends_when_every_member_was_read() {
    let mut c = JoinChecks::new();
    let g = GroupId::from_slice(&[7; 32]).unwrap_or_else(|_| unreachable!());
    let mint = WalletAddress::from_bytes([9; 32]);
    let n = MAX_RECHECK_READS + 100;
    let members: Vec<(IpnsName, WalletAddress)> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&(i as u32).to_le_bytes());
            let name = kaichi_identity::IpnsKeypair::from_seed(&seed).name();
            (name, WalletAddress::from_bytes(seed))
        })
        .collect();
    assert!(c.start_round(g, mint, members.clone()));
    assert!(
        !c.start_round(g, mint, members.clone()),
        "one round at a time"
    );
    assert!(c.rechecking(&g));
    let mut reads = c.next_rechecks(g);
    assert_eq!(reads.len(), MAX_RECHECK_READS);
    // Every member read once; the first 3 are under the minimum.
    let mut done = 0;
    let mut removed = None;
    while let Some((id, wallet, m)) = reads.pop() {
        assert_eq!(m, mint);
        let Some(ReadFor::Recheck { name, .. }) = c.read_done(id) else {
            panic!("a re-check read")
        };
        let index = members.iter().position(|(n, w)| *n == name && *w == wallet);
        let under = index.is_some_and(|i| i < 3);
        done += 1;
        match c.recheck_result(g, name, under) {
            Some(r) => removed = Some(r),
            None => reads.extend(c.next_rechecks(g)),
        }
    }
    assert_eq!(done, n);
    let removed: HashSet<IpnsName> = removed.unwrap_or_default().into_iter().collect();
    let expected: HashSet<IpnsName> = members[..3].iter().map(|(n, _)| *n).collect();
    assert_eq!(removed, expected);
    assert!(!c.rechecking(&g));
    assert!(!c.start_round(g, mint, Vec::new()), "nobody to read");
}
