// Package channels holds channel semantics and where channels live: which
// versions a channel may hold, selection under a constraint, publishing,
// promotion, yanking, sequence and expiry rules, verification of what a store
// serves, and the Store interface with its directory and OCI implementations.
package channels
