//! The global allocator: mimalloc, called so that word-aligned requests are
//! served from its size classes.
//!
//! mimalloc's aligned entry point serves a request from its size class only
//! while that class's current page has a suitably aligned free block; once
//! the page is full it over-allocates from a larger class (an 80-byte,
//! 8-aligned block then costs 96 bytes) and goes on doing so. Every block
//! mimalloc hands out is aligned to a machine word, so requests that need
//! no more take the plain calls, as mimalloc's own realloc does.

use std::alloc::{GlobalAlloc, Layout};

use libmimalloc_sys as mi;

pub struct Mimalloc;

const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: mimalloc returns blocks of at least the requested size, aligned to
// a word by the plain calls and to `align` by the aligned ones, or null.
unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_malloc(layout.size()) }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) }
        };
        p.cast()
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_zalloc(layout.size()) }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) }
        };
        p.cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_realloc(ptr.cast(), new_size) }
        } else {
            unsafe { mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()) }
        };
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Part of mimalloc's C API (the crate only binds it with its "extended" feature).
    unsafe extern "C" {
        fn mi_usable_size(p: *const std::ffi::c_void) -> usize;
    }

    /// Many blocks of one word-aligned size fill page after page: each is
    /// aligned and served from its size class, never a larger one.
    #[test]
    fn word_aligned_blocks_keep_their_size_class() {
        let layout = Layout::from_size_align(80, 8).expect("a layout");
        let blocks: Vec<*mut u8> = (0..100_000).map(|_| unsafe { Mimalloc.alloc(layout) }).collect();
        for &p in &blocks {
            assert!(!p.is_null() && (p as usize).is_multiple_of(8));
            assert_eq!(unsafe { mi_usable_size(p.cast()) }, 80);
        }
        blocks.into_iter().for_each(|p| unsafe { Mimalloc.dealloc(p, layout) });
    }

    #[test]
    fn larger_alignments_are_honoured() {
        for align in [16, 64, 4096] {
            let layout = Layout::from_size_align(24, align).expect("a layout");
            let p = unsafe { Mimalloc.alloc_zeroed(layout) };
            assert!(!p.is_null() && (p as usize).is_multiple_of(align));
            let q = unsafe { Mimalloc.realloc(p, layout, 5000) };
            assert!(!q.is_null() && (q as usize).is_multiple_of(align));
            unsafe { Mimalloc.dealloc(q, Layout::from_size_align(5000, align).expect("a layout")) };
        }
    }

    #[test]
    fn realloc_keeps_the_bytes() {
        let layout = Layout::from_size_align(24, 8).expect("a layout");
        unsafe {
            let p = Mimalloc.alloc(layout);
            p.copy_from_nonoverlapping(b"twenty-four bytes of it!".as_ptr(), 24);
            let q = Mimalloc.realloc(p, layout, 4000);
            assert_eq!(std::slice::from_raw_parts(q, 24), b"twenty-four bytes of it!");
            Mimalloc.dealloc(q, Layout::from_size_align(4000, 8).expect("a layout"));
        }
    }
}
