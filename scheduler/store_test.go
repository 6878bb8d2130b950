package scheduler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestStorePutGetListDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fnrun.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b-1", "a-1"} {
		if err := s.Put(App{ID: id, Revision: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(App{ID: "a-1", Revision: 2}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopen: the records survived.
	s, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	apps, err := s.List()
	if err != nil || len(apps) != 2 || apps[0].ID != "a-1" || apps[0].Revision != 2 {
		t.Fatalf("List = %+v, %v", apps, err)
	}
	if err := s.Delete("a-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("a-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestStoreRefusesCorruptAndNewer(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("garbage!", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(corrupt); err == nil {
		t.Errorf("a corrupt store opened without error")
	}
	if b, _ := os.ReadFile(corrupt); !strings.HasPrefix(string(b), "garbage!") {
		t.Errorf("the corrupt store was overwritten")
	}

	newer := filepath.Join(dir, "newer.db")
	db, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return b.Put(keyFormat, []byte("99"))
	})
	db.Close()
	_, err = OpenStore(newer)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a store of format 99 gave %v, want a 'newer' error", err)
	}
}
