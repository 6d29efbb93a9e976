//! Arbitrary operation sequences on a group of up to four members: every
//! operation either succeeds and every member agrees on the membership and
//! epoch, or is refused with a typed error and changes nothing.
#![no_main]

use std::collections::BTreeSet;

use kaichi_groups::{
    AdminPolicy, Candidate, Group, GroupEvent, MemberSigner, MemoryProvider, NewGroup, NoDevices,
    Outgoing, key_package,
};
use kaichi_identity::IpnsKeypair;
use libfuzzer_sys::fuzz_target;

const PEOPLE: usize = 4;

struct Client {
    p: MemoryProvider,
    me: MemberSigner,
    g: Option<Group>,
}

fn deliver(clients: &mut [Client], members: &BTreeSet<usize>, from: usize, bytes: &[u8]) {
    for &m in members.iter().filter(|&&m| m != from) {
        let c = &mut clients[m];
        match c
            .g
            .as_mut()
            .unwrap()
            .process(&c.p, &AdminPolicy, &NoDevices, bytes)
        {
            Ok(_) => {}
            Err(e) => panic!("member {m} refused a valid message: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut clients: Vec<Client> = (0..PEOPLE)
        .map(|i| Client {
            p: MemoryProvider::default(),
            me: MemberSigner::identity(IpnsKeypair::from_seed(&[i as u8 + 1; 32])),
            g: None,
        })
        .collect();
    clients[0].g =
        Some(Group::create(&clients[0].p, &clients[0].me, NewGroup::named("f")).unwrap());
    let mut members = BTreeSet::from([0usize]);
    for chunk in data.chunks(2).take(12) {
        let (op, arg) = (chunk[0] % 4, chunk.get(1).copied().unwrap_or(0) as usize);
        let list: Vec<usize> = members.iter().copied().collect();
        let by = list[arg % list.len()];
        let who = (arg / 7) % PEOPLE;
        let epoch = clients[by].g.as_ref().unwrap().epoch();
        match op {
            0 => {
                let kp = key_package(&clients[who].p, &clients[who].me, false).unwrap();
                let c = &mut clients[by];
                match c.g.as_mut().unwrap().add(
                    &c.p,
                    &c.me,
                    &AdminPolicy,
                    &NoDevices,
                    &[Candidate::new(kp)],
                ) {
                    Ok(Outgoing::Commit(out)) => {
                        deliver(&mut clients, &members, by, &out.commit);
                        let j = &mut clients[who];
                        j.g = Some(
                            Group::join(
                                &j.p,
                                out.welcome.as_deref().unwrap(),
                                out.ratchet_tree.as_deref(),
                                &NoDevices,
                            )
                            .unwrap(),
                        );
                        members.insert(who);
                    }
                    Ok(_) => panic!("only the sequencer adds under AdminPolicy"),
                    Err(_) => assert_eq!(clients[by].g.as_ref().unwrap().epoch(), epoch),
                }
            }
            1 if who != 0 && by == 0 && members.contains(&who) => {
                let name = clients[who].me.name();
                let c = &mut clients[0];
                let Ok(Outgoing::Commit(out)) =
                    c.g.as_mut()
                        .unwrap()
                        .remove(&c.p, &c.me, &AdminPolicy, &[name])
                else {
                    panic!("the sequencer removes")
                };
                deliver(&mut clients, &members, 0, &out.commit);
                members.remove(&who);
            }
            2 => {
                let c = &mut clients[by];
                let text = [arg as u8; 3];
                let bytes = c.g.as_mut().unwrap().send(&c.p, &c.me, &text).unwrap();
                for &m in members.iter().filter(|&&m| m != by) {
                    let c = &mut clients[m];
                    match c
                        .g
                        .as_mut()
                        .unwrap()
                        .process(&c.p, &AdminPolicy, &NoDevices, &bytes)
                    {
                        Ok(GroupEvent::Message { text: t, .. }) => assert_eq!(t, text),
                        other => panic!("{other:?}"),
                    }
                }
            }
            3 if by == 0 => {
                let c = &mut clients[0];
                let Ok(Outgoing::Commit(out)) = c.g.as_mut().unwrap().self_update(&c.p, &c.me)
                else {
                    panic!("the sequencer commits")
                };
                deliver(&mut clients, &members, 0, &out.commit);
            }
            _ => {}
        }
        let expected: Vec<_> = {
            let mut v: Vec<_> = members
                .iter()
                .map(|&m| clients[m].me.name().to_bytes())
                .collect();
            v.sort();
            v
        };
        let epoch = clients[0].g.as_ref().unwrap().epoch();
        for &m in &members {
            let g = clients[m].g.as_ref().unwrap();
            let mut names: Vec<_> = g.member_names().iter().map(|n| n.to_bytes()).collect();
            names.sort();
            assert_eq!(names, expected);
            assert_eq!(g.epoch(), epoch);
        }
    }
});
