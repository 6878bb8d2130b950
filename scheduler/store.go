package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StoreFormat is the on-disk format version of the state store; a store written by a newer
// fnrund has a higher number and is refused rather than misread.
const StoreFormat = 1

var (
	bucketMeta = []byte("meta")
	bucketApps = []byte("apps")
	keyFormat  = []byte("format")
)

// ErrNotFound is returned for an app id the store does not hold.
var ErrNotFound = errors.New("app not found")

// Store keeps apps in a bbolt file; every write is one transaction.
type Store struct {
	db   *bolt.DB
	path string
}

// OpenStore opens (or creates) the store at path. A corrupt file or one of a newer format is an
// error, never a silent reset.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketApps); err != nil {
			return err
		}
		v := meta.Get(keyFormat)
		if v == nil {
			return meta.Put(keyFormat, []byte(strconv.Itoa(StoreFormat)))
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("format %q is not a number", v)
		}
		if n > StoreFormat {
			return fmt.Errorf("format %d is newer than this fnrund understands (%d): upgrade fnrund", n, StoreFormat)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the store file.
func (s *Store) Close() error { return s.db.Close() }

// Put writes app, replacing any earlier record with its id.
func (s *Store) Put(app App) error {
	data, err := json.Marshal(app)
	if err != nil {
		return fmt.Errorf("encode app %s: %w", app.ID, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Put([]byte(app.ID), data)
	}); err != nil {
		return fmt.Errorf("store app %s: %w", app.ID, err)
	}
	return nil
}

// Get returns the app with id, or ErrNotFound.
func (s *Store) Get(id string) (App, error) {
	var app App
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketApps).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &app)
	})
	if err != nil {
		return App{}, fmt.Errorf("app %s: %w", id, err)
	}
	return app, nil
}

// Delete removes the app with id; deleting an absent app is not an error.
func (s *Store) Delete(id string) error {
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Delete([]byte(id))
	}); err != nil {
		return fmt.Errorf("delete app %s: %w", id, err)
	}
	return nil
}

// List returns every app ordered by id.
func (s *Store) List() ([]App, error) {
	var apps []App
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).ForEach(func(k, v []byte) error {
			var app App
			if err := json.Unmarshal(v, &app); err != nil {
				return fmt.Errorf("decode app %s: %w", k, err)
			}
			apps = append(apps, app)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].ID < apps[j].ID })
	return apps, nil
}
