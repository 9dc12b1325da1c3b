/**
 * The networks the sample programs train, public so that the benchmarks measure exactly these.
 */
package dev.kiln.samples.models;
