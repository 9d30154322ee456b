use super::*;

fn str_of(e: &Entry) -> &[u8] {
    match e.value() {
        ValueRef::Str(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

fn list_of(items: &[&[u8]]) -> Value {
    let mut list = List::default();
    for item in items {
        list.push_back(item);
    }
    Value::List(Box::new(list))
}

fn list_len(e: &Entry) -> usize {
    match e.value() {
        ValueRef::List(l) => l.len(),
        other => panic!("not a list: {other:?}"),
    }
}

#[test]
fn the_table_holds_a_thin_pointer() {
    assert_eq!(std::mem::size_of::<Entry>(), 8);
    assert_eq!(std::mem::size_of::<Option<Entry>>(), 8);
}

#[test]
fn a_string_entry_is_one_block_of_header_key_and_value() {
    let e = Entry::new(&[7u8; 16], Value::str(&[1u8; 45]), 0, 0);
    assert_eq!(e.layout().size(), (16 + 16 + 45_usize).next_multiple_of(8));
    assert_eq!(e.mem_size(), alloc_size(80));
    assert_eq!((e.key(), str_of(&e)), (&[7u8; 16][..], &[1u8; 45][..]));
}

#[test]
fn meta_fields_are_independent() {
    let mut e = Entry::new(b"k", Value::str(b"v"), 1_700_000_000_000, 7);
    assert_eq!(e.expires_at(), 1_700_000_000_000);
    assert_eq!(e.access(), 7);
    e.set_access(u16::MAX);
    assert_eq!(e.expires_at(), 1_700_000_000_000);
    e.set_mark(true);
    e.set_expires_at(0);
    assert_eq!(e.access(), u16::MAX);
    assert!(e.mark());
    assert!(!e.is_expired(u64::MAX));
    e.set_access(0);
    e.set_expires_at(EXPIRE_MASK + 5);
    assert!(e.mark() && e.access() == 0 && e.expires_at() == EXPIRE_MASK);
    e.set_mark(false);
    assert_eq!(e.expires_at(), EXPIRE_MASK);
}

#[test]
fn values_change_size_and_kind_keeping_key_and_meta() {
    let mut e = Entry::new(b"key", Value::str(b"short"), 42, 9);
    e.set_mark(true);
    e.set_str(&[&[b'x'; 1000]]);
    assert_eq!(str_of(&e), &[b'x'; 1000][..]);
    e.set_value(list_of(&[b"a", b"b"]));
    assert_eq!(list_len(&e), 2);
    e.set_value(list_of(&[b"c"]));
    assert_eq!(list_len(&e), 1);
    e.set_str(&[]);
    assert_eq!(str_of(&e), b"");
    assert_eq!((e.key(), e.expires_at(), e.access(), e.mark()), (&b"key"[..], 42, 9, true));
}

#[test]
fn strings_change_in_place() {
    let mut e = Entry::new(b"k", Value::str(b"abc"), 0, 0);
    if let ValueMut::Str(s) = e.value_mut() {
        s[1] = b'X';
    }
    assert_eq!(str_of(&e), b"aXc");
    let ValueMut::Str(_) = e.value_mut() else { panic!("a string") };
}

#[test]
fn collections_are_borrowed_and_changed_through_the_entry() {
    let mut e = Entry::new(b"k", list_of(&[b"a"]), 0, 0);
    if let ValueMut::List(l) = e.value_mut() {
        l.push_back(b"b");
    }
    assert_eq!(list_len(&e), 2);
    assert!(e.mem_size() > alloc_size(HEADER + 1 + POINTER));
    assert_eq!(e.value().type_name(), "list");
}

#[test]
fn renaming_moves_the_value_and_copying_duplicates_it() {
    let mut e = Entry::new(b"old", list_of(&[b"a", b"b", b"c"]), 5, 3);
    e.set_mark(true);
    let e = e.renamed(b"a much longer name than before");
    assert_eq!(
        (e.key(), list_len(&e), e.expires_at(), e.access(), e.mark()),
        (&b"a much longer name than before"[..], 3, 5, 3, true)
    );
    let copy = e.copied(b"copy");
    drop(e);
    assert_eq!((copy.key(), list_len(&copy), copy.expires_at()), (&b"copy"[..], 3, 5));
    let s = Entry::new(b"s", Value::str(b"value"), 0, 0).renamed(b"t");
    assert_eq!((s.key(), str_of(&s)), (&b"t"[..], &b"value"[..]));
}

#[test]
fn values_are_taken_out_whole() {
    let Value::List(l) = Entry::new(b"k", list_of(&[b"a", b"b"]), 0, 0).into_value() else { panic!("a list") };
    assert_eq!(l.len(), 2);
    let Value::Str(s) = Entry::new(b"k", Value::str(b"bytes"), 0, 0).into_value() else { panic!("a string") };
    assert_eq!(&*s, b"bytes");
}

#[test]
fn every_kind_round_trips() {
    let values = [
        Value::str(b"s"),
        list_of(&[b"x"]),
        Value::Hash(Box::default()),
        Value::Set(Box::default()),
        Value::ZSet(Box::default()),
    ];
    for value in values {
        let name = value.as_ref().type_name();
        let e = Entry::new(b"key", value, 0, 0);
        assert_eq!(e.value().type_name(), name);
        assert_eq!(e.copied(b"other").value().type_name(), name);
    }
}
